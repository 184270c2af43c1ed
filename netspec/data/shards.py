"""WebDataset tar shards, read map-style: any sample by index, seeking into its tar.

A shard is a plain (uncompressed) tar whose members are ``<key>.<ext>``: the members of one
sample share a key and follow each other (``000123.jpg``, ``000123.cls``), as WebDataset writes
and reads them. ``shard_files(pattern)`` expands a brace pattern (``train-{000000..000009}.tar``,
``{a,b}``) and globs; the shards' order is the pattern's order (globs sorted).

Each shard is scanned once into an index — every sample's key, the offset and size of its image
member, the image's (H, W) from its header, and its label text — kept in ``.netspec-cache``
beside the shards under a key of the shard's path, size and mtime (``shard_index``), so a later
run opens 1,000 shards without reading them. With the indices the shards are one map-style
dataset: ``ShardImages.rows(index)`` seeks to each sample's image and decodes it
(``images.decode``) where the batch is gathered, in a DataLoader worker. That keeps the sampler,
the epoch order drawn from the checkpointed generator (bit-exact resume) and distributed global
batches: each rank reads only the samples of its part of every global batch.

``NETSPEC_SHARD_READ_LOG=FILE`` appends one JSON line per read (``{"rank", "pid", "rows"}``: the
sample indices read) to FILE, to see which process reads what (tests check that ranks read
disjoint samples).
"""

from __future__ import annotations

import glob
import hashlib
import itertools
import json
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from . import progress
from .images import IMAGE_SUFFIXES, cache_folder, decode
from .lazy import LazyField, SampleFault

if TYPE_CHECKING:  # pragma: no cover
    from .table import Table

INDEX_VERSION = 1
READ_LOG = "NETSPEC_SHARD_READ_LOG"
IMAGE_EXTS = tuple(s[1:] for s in IMAGE_SUFFIXES)
_KEY_EXT = re.compile(r"^((?:.*/|)[^./]+)\.([^/]*)$")  # WebDataset's split: the key ends at the basename's first dot
_BRACE = re.compile(r"\{([^{}]*)\}")


class ShardProblem(Exception):
    """A shard that cannot be used as one: not a tar, unreadable (the reader locates it)."""


def expand_braces(pattern: str) -> list[str]:
    """``a-{000..002}.tar`` -> a-000.tar, a-001.tar, a-002.tar; ``{x,y}`` -> each; nested from the left."""
    m = _BRACE.search(pattern)
    if m is None:
        return [pattern]
    body, head, tail = m.group(1), pattern[:m.start()], pattern[m.end():]
    numeric = re.fullmatch(r"(\d+)\.\.(\d+)", body)
    if numeric:
        lo, hi = numeric.groups()
        width = len(lo) if lo.startswith("0") or len(lo) == len(hi) else 0
        choices = [str(i).zfill(width) for i in range(int(lo), int(hi) + 1)]
    else:
        choices = body.split(",")
    return [p for c in choices for p in expand_braces(head + c + tail)]


def shard_files(pattern: str, base: Path) -> list[Path]:
    """The existing files a pattern names (relative to ``base``), in the pattern's order, each once."""
    out: list[Path] = []
    for p in expand_braces(pattern):
        full = p if Path(p).is_absolute() else str(base / p)
        if glob.has_magic(full):
            out += [Path(f) for f in sorted(glob.glob(full)) if Path(f).is_file()]
        elif Path(full).is_file():
            out.append(Path(full))
    return list(dict.fromkeys(out))


@dataclass
class ShardIndex:
    """One shard's samples: keys, image member offsets/sizes, image (H, W) and label texts;
    ``problems`` the samples that cannot be used (key, problem, reason)."""

    file: str
    keys: list[str]
    offsets: list[int]
    sizes: list[int]
    hw: list[tuple[int, int]]
    labels: list[str]
    problems: list[tuple[str, str, str]]


def _index_key(file: Path, image: Optional[str], label: str) -> str:
    st = file.stat()
    text = json.dumps([INDEX_VERSION, str(file.resolve()), st.st_size, st.st_mtime_ns, image, label])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def shard_index(file: Path, image: Optional[str] = None, label: str = "cls", folder: Optional[Path] = None) -> ShardIndex:
    """The index of one shard, from the cache beside it (or in ``folder``) when the shard is unchanged,
    else scanned now and cached. Raises ShardProblem for a file that is no tar."""
    cached = (folder or cache_folder(file.parent)) / f"shard-{_index_key(file, image, label)}.json"
    if cached.is_file():
        try:
            return ShardIndex(**json.loads(cached.read_text()))
        except (ValueError, TypeError):
            pass  # a damaged cache file: scan again
    index = scan_shard(file, image, label)
    tmp = cached.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(index.__dict__))
    os.replace(tmp, cached)  # atomic: ranks indexing the same shard at once write the same content
    return index


def scan_shard(file: Path, image: Optional[str] = None, label: str = "cls") -> ShardIndex:
    """Read a shard's tar headers (seeking past the data), its label members and image headers."""
    from PIL import Image

    out = ShardIndex(str(file), [], [], [], [], [], [])
    try:
        tar = tarfile.open(file, mode="r:")  # uncompressed only: a compressed tar cannot be seeked into
    except (tarfile.TarError, OSError) as exc:
        raise ShardProblem(f"{file} is not an uncompressed tar file ({exc})") from None
    with tar:
        try:
            members = [m for m in tar if m.isfile()]
        except (tarfile.TarError, OSError) as exc:
            raise ShardProblem(f"{file} is a damaged tar file ({exc})") from None
        for key, group in itertools.groupby(members, key=lambda m: _split(m.name)[0]):
            if key is None:
                continue  # a member without an extension belongs to no sample
            by_ext = {_split(m.name)[1]: m for m in group}
            where = f"{file.name}: sample {key!r}"
            img = by_ext.get(image) if image else next((by_ext[e] for e in by_ext if e.lower() in IMAGE_EXTS), None)
            if img is None:
                out.problems.append((key, f"{where} has no {image or 'image'} member (members: {', '.join(by_ext)})",
                                     "missing image"))
                continue
            if label not in by_ext:
                out.problems.append((key, f"{where} has no {label!r} label member (members: {', '.join(by_ext)})",
                                     "missing label"))
                continue
            try:
                with Image.open(tar.extractfile(img)) as im:  # type: ignore[arg-type]
                    w, h = im.size
            except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds
                out.problems.append((key, f"{where}: cannot read the image ({type(exc).__name__}: {str(exc)[:200]})",
                                     "unreadable image"))
                continue
            out.keys.append(key)
            out.offsets.append(img.offset_data)
            out.sizes.append(img.size)
            out.hw.append((h, w))
            out.labels.append(tar.extractfile(by_ext[label]).read().decode("utf-8", "replace").strip())  # type: ignore[union-attr]
    return out


def _split(name: str) -> tuple[Optional[str], str]:
    m = _KEY_EXT.match(name)
    return (m.group(1), m.group(2)) if m else (None, "")


class ShardImages(LazyField):
    """The images of a set of shards, read by seeking into each sample's tar and decoded on demand."""

    dtype = np.dtype(np.uint8)
    streamed = True  # data.loader.on_device: auto streams it (each rank reads its part), whatever its size

    def __init__(self, files: list[str], shard: np.ndarray, offsets: np.ndarray, sizes: np.ndarray, keys: list[str],
                 channels: int, size: tuple[int, int], draft: bool = True) -> None:
        self.files, self.shard, self.offsets, self.sizes, self.keys = files, shard, offsets, sizes, keys
        self.channels, self.size, self.draft = channels, tuple(size), draft
        self.sample_shape = (channels,) + self.size
        self._open: dict[int, int] = {}  # shard -> file descriptor, of the process ``_pid``
        self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self.offsets)

    def raw(self, i: int) -> bytes:
        """The image member's bytes of sample ``i``."""
        if self._pid != os.getpid():  # a forked worker: its own descriptors, never the parent's
            self._open, self._pid = {}, os.getpid()
        s = int(self.shard[i])
        fd = self._open.get(s)
        if fd is None:
            fd = self._open[s] = os.open(self.files[s], os.O_RDONLY)  # kept open for the next reads
        data = os.pread(fd, int(self.sizes[i]), int(self.offsets[i]))  # no shared file position to race on
        if len(data) != int(self.sizes[i]):
            raise SampleFault(self.describe(i), "the shard ends inside this sample (truncated since it was indexed?)",
                              "truncated shard")
        return data

    def rows(self, index: np.ndarray) -> np.ndarray:
        log = os.environ.get(READ_LOG)
        if log:
            line = json.dumps({"rank": int(os.environ.get("RANK", "0")), "pid": os.getpid(),
                               "rows": [int(i) for i in index]}) + "\n"
            with open(log, "a", encoding="utf-8") as fh:  # one write per line: lines of processes do not mix
                fh.write(line)
        out = np.empty((len(index),) + self.sample_shape, np.uint8)
        for pos, i in enumerate(index):
            try:
                data = self.raw(int(i))
            except OSError as exc:
                raise SampleFault(self.describe(int(i)), f"cannot read the shard ({exc})", "unreadable shard") from None
            out[pos] = decode(data, self.channels, self.size, self.draft, where=self.describe(int(i)))
        return out

    def describe(self, i: int) -> str:
        return f"{self.files[int(self.shard[i])]}: sample {self.keys[i]!r}"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_open"] = {}  # each worker opens the shards itself
        return state

    def __del__(self) -> None:
        if getattr(self, "_pid", None) == os.getpid():
            for fd in self._open.values():
                os.close(fd)


def shards_table(source: Any, base: Path, classify: bool, path: Any, faults: Any = None,
                 expect: Optional[dict] = None) -> Table:
    """The ``shards`` source as a Table: ``image`` (ShardImages, read lazily) and ``target`` (the label
    members: class indices, or class names mapped to sorted indices; numbers for regression)."""
    from ..errors import DataError
    from .faults import Faults, Origin
    from .table import Table

    faults = faults or Faults()
    files = shard_files(source.path, base)
    if not files:
        raise DataError(f"no shards match {source.path!r} (in {base})", path=path + ("path",),
                        hint="a glob (train-*.tar) or brace pattern (train-{000000..000009}.tar), relative to the "
                             "spec file; `netspec data shards` writes shards from an image folder")
    counter = progress.task(f"indexing {len(files):,} shards", len(files), "shards")
    indices, folders = [], {f.parent: cache_folder(f.parent) for f in files}
    for f in files:
        try:
            indices.append(shard_index(f, source.image, source.label, folders[f.parent]))
        except ShardProblem as exc:
            raise DataError(str(exc), path=path + ("path",),
                            hint="shards are uncompressed tar files of <key>.<ext> members (WebDataset's format), "
                                 "e.g. written by `netspec data shards`") from None
        counter.advance()
    counter.done()
    where = source.path if len(files) > 1 else str(files[0])
    bad = faults.of(where, path + ("path",))
    total = sum(len(ix.keys) + len(ix.problems) for ix in indices)
    for ix in indices:
        for _key, problem, reason in ix.problems:
            hint = (f"every sample needs a `<key>.{source.label}` member holding its label (or set `label:` to the "
                    f"member that holds it)") if reason == "missing label" else None
            bad.bad(problem, "the sample cannot be used", reason, hint=hint)
    bad.limit(total)
    keys = [k for ix in indices for k in ix.keys]
    if not keys:
        raise DataError(f"the shards of {source.path!r} hold no usable samples", path=path + ("path",))
    sizes = {tuple(hw) for ix in indices for hw in ix.hw}
    if source.size is None and len(sizes) > 1:
        raise DataError(f"images have different sizes {[list(s) for s in sorted(sizes)[:3]]} (H, W)", path=path,
                        hint="set `size: [H, W]`")
    size = tuple(source.size) if source.size is not None else next(iter(sizes))
    shard = np.concatenate([np.full(len(ix.keys), k, np.int32) for k, ix in enumerate(indices)])
    images = ShardImages([ix.file for ix in indices], shard, np.asarray([o for ix in indices for o in ix.offsets], np.int64),
                         np.asarray([s for ix in indices for s in ix.sizes], np.int64), keys, source.channels, size,
                         draft=source.draft)
    labels = [(ix.file, k, lab) for ix in indices for k, lab in zip(ix.keys, ix.labels)]
    target, classes = _targets(labels, classify, files[0].parent, (expect or {}).get("classes"), path)
    names = [images.describe(i) for i in range(len(keys))]
    return Table({"image": images, "target": target}, classes=classes,
                 origin=Origin(where, "sample", names=names, total=total))


def _targets(labels: list[tuple[str, str, str]], classify: bool, folder: Path, trained: Optional[list],
             path: Any) -> tuple[np.ndarray, Optional[list]]:
    """Label texts -> targets. Classification: all class indices (names from ``classes.txt`` beside
    the shards, if there, else "0".."K-1") or all class names (sorted, or the trained model's)."""
    from ..errors import DataError

    def is_int(t: str) -> bool:
        return re.fullmatch(r"[+-]?\d+", t) is not None

    ints = [is_int(t) for _, _, t in labels]
    if not classify:
        try:
            return np.asarray([float(t) for _, _, t in labels], np.float32), None
        except ValueError:
            file, key, text = next(x for x in labels if not _is_float(x[2]))
            raise DataError(f"{file}: sample {key!r}: label {text!r} is not a number (a regression target)",
                            path=path + ("label",)) from None
    if any(ints) and not all(ints):
        a = labels[ints.index(True)]
        b = labels[ints.index(False)]
        raise DataError(f"inconsistent labels: {a[0]}: sample {a[1]!r} has the class index {a[2]!r}, but "
                        f"{b[0]}: sample {b[1]!r} has the class name {b[2]!r}", path=path + ("label",),
                        hint="the label members of all samples hold class indices (0, 1, ...) or all hold class names")
    listed = folder / "classes.txt"
    if all(ints):
        y = np.asarray([int(t) for _, _, t in labels], np.int64)
        classes = [c for c in listed.read_text(encoding="utf-8").splitlines() if c] if listed.is_file() else \
            [str(i) for i in range(int(y.max()) + 1)]
        classes = [str(c) for c in trained] if trained else classes
        out = (y < 0) | (y >= len(classes))
        if out.any():
            file, key, text = labels[int(np.flatnonzero(out)[0])]
            source = f"the {len(classes)} classes of {listed}" if listed.is_file() and not trained else \
                f"the model's {len(classes)} classes"
            raise DataError(f"inconsistent labels: {file}: sample {key!r} has class index {text}, outside {source}",
                            path=path + ("label",), hint="class indices run from 0 to the number of classes - 1")
        return y, classes
    found = sorted({t for _, _, t in labels})
    classes = [str(c) for c in trained] if trained else found
    unknown = [c for c in found if c not in classes]
    if unknown:
        raise DataError(f"class {unknown[0]!r} in the shards is not one of the model's classes", path=path + ("label",),
                        hint=f"classes: {', '.join(classes[:10])}")
    lookup = {c: k for k, c in enumerate(classes)}
    return np.asarray([lookup[t] for _, _, t in labels], np.int64), classes


def _is_float(t: str) -> bool:
    try:
        float(t)
    except ValueError:
        return False
    return True
