"""Write WebDataset tar shards from an image folder (``netspec data shards``).

Sample ``i`` (the image folder's order: classes sorted, files sorted) becomes the members
``{i:06d}.<ext>`` (the image file's bytes as they are, no re-encoding) and ``{i:06d}.cls`` (its
class index as text), in shard ``i // shard_size``; ``classes.txt`` beside the shards names the
classes in index order. Shards are plain tar files: WebDataset, ``tar tf`` and netspec's
``shards`` source all read them. Each shard is written to a temporary name and renamed when
complete, so an interrupted conversion leaves no half shard behind.
"""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError
from . import progress
from .images import IMAGE_SUFFIXES


@dataclass
class Written:
    """What a conversion wrote."""

    folder: str
    shards: list[str] = field(default_factory=list)
    samples: int = 0
    bytes: int = 0
    classes: list[str] = field(default_factory=list)
    pattern: str = ""


def image_folder_files(src: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """(classes, [(file, class index)]) of an image folder with one sub-folder per class."""
    if not src.is_dir():
        raise DataError(f"folder not found: {src}", hint="give an image folder with one sub-folder per class")
    classes = sorted(d.name for d in src.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"{src} has no class sub-folders", hint="one sub-folder per class, holding its images")
    files = [(f, k) for k, c in enumerate(classes) for f in sorted((src / c).iterdir())
             if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise DataError(f"no images found under {src}", hint=f"images end in {', '.join(IMAGE_SUFFIXES)}")
    return classes, files


def write_shards(src: Path, out: Path, shard_size: int, prefix: str = "shard") -> Written:
    """Convert the image folder ``src`` into shards ``out/{prefix}-000000.tar``, ... of ``shard_size`` samples."""
    if shard_size < 1:
        raise DataError(f"the shard size must be at least 1, got {shard_size}")
    classes, files = image_folder_files(src)
    if out.exists() and any(out.glob(f"{prefix}-*.tar")):
        raise DataError(f"{out} already holds {prefix}-*.tar shards", hint="give a new or empty output folder")
    out.mkdir(parents=True, exist_ok=True)
    count = -(-len(files) // shard_size)
    width, kwidth = max(6, len(str(count - 1))), max(6, len(str(len(files) - 1)))
    done = Written(str(out), classes=classes, pattern=f"{prefix}-{{{0:0{width}d}..{count - 1:0{width}d}}}.tar")
    counter = progress.task(f"writing {len(files):,} images into {count:,} shards", len(files), "images")
    for s in range(count):
        name = out / f"{prefix}-{s:0{width}d}.tar"
        tmp = name.with_name(f".{name.name}.tmp{os.getpid()}")
        with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
            for i in range(s * shard_size, min((s + 1) * shard_size, len(files))):
                file, k = files[i]
                key, mtime = f"{i:0{kwidth}d}", int(file.stat().st_mtime)
                _add(tar, f"{key}.{file.suffix[1:].lower()}", file.read_bytes(), mtime)
                _add(tar, f"{key}.cls", str(k).encode(), mtime)
                counter.advance()
        os.replace(tmp, name)
        done.shards.append(str(name))
        done.bytes += name.stat().st_size
    (out / "classes.txt").write_text("".join(f"{c}\n" for c in classes), encoding="utf-8")
    done.samples = len(files)
    counter.done()
    return done


def _add(tar: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o644
    tar.addfile(info, io.BytesIO(data))
