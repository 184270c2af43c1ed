"""Images read lazily: decoded per sample where the batch is gathered (a DataLoader worker).

``decode(file_or_bytes, channels, size, draft)`` is the one image decoder of training, shards and
prediction: Pillow opens the image, converts it to L or RGB, resizes it to (H, W) with bilinear
filtering and returns uint8 (C, H, W). With ``draft`` a JPEG is first decoded at the largest
1/2, 1/4 or 1/8 scale still at least (H, W) (Pillow's ``draft``: the DCT does the downscaling,
several times faster for large photos), then resized as always. Normalization happens on the
device, batched (``Preprocessor.on_device``): a worker hands over 1 byte per value, not 4.

``LazyImages`` is the ``image`` field of an image folder: file names and nothing else until rows
are read. ``ImageCache`` is the same rows decoded once into a uint8 array, in memory (``cache:
ram``) or in a memory-mapped file beside the data (``cache: disk``), for datasets read every epoch.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Optional, Union

import numpy as np

from . import progress
from .batches import read_in_workers
from .lazy import LazyField, SampleFault

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
CACHE_VERSION = 1


def decode(data: Union[str, Path, bytes], channels: int, size: Optional[tuple[int, int]], draft: bool = True,
           where: str = "") -> np.ndarray:
    """One image -> uint8 (C, H, W); an unreadable one raises SampleFault."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as im:
            mode = "L" if channels == 1 else "RGB"
            if draft and size is not None and im.format == "JPEG":
                im.draft(mode, (size[1], size[0]))
            im = im.convert(mode)
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
    except Exception as exc:  # noqa: BLE001 - Pillow raises OSError, ValueError, SyntaxError, bomb errors
        raise SampleFault(where or str(data)[:200], f"cannot read the image ({type(exc).__name__}: {str(exc)[:200]})",
                          "unreadable image") from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def header_size(file: Path) -> tuple[int, int]:
    """(H, W) from the image header, without decoding; an unreadable header raises SampleFault."""
    from PIL import Image

    try:
        with Image.open(file) as im:
            w, h = im.size
    except Exception as exc:  # noqa: BLE001
        raise SampleFault(str(file), f"cannot read the image ({type(exc).__name__}: {str(exc)[:200]})",
                          "unreadable image") from None
    return h, w


class LazyImages(LazyField):
    """The images of a list of files, decoded when their rows are read."""

    dtype = np.dtype(np.uint8)

    def __init__(self, files: list[str], channels: int, size: tuple[int, int], draft: bool = True) -> None:
        self.files, self.channels, self.size, self.draft = files, channels, tuple(size), draft
        self.sample_shape = (channels,) + self.size

    def __len__(self) -> int:
        return len(self.files)

    def rows(self, index: np.ndarray) -> np.ndarray:
        out = np.empty((len(index),) + self.sample_shape, np.uint8)
        for pos, i in enumerate(index):
            out[pos] = decode(self.files[i], self.channels, self.size, self.draft, where=self.files[i])
        return out

    def describe(self, i: int) -> str:
        return self.files[i]


class ImageCache(LazyField):
    """Decoded uint8 images: an array in memory, or a memory-mapped file reopened by path in each worker."""

    dtype = np.dtype(np.uint8)

    def __init__(self, file: Optional[Path], shape: tuple[int, ...], array: Optional[np.ndarray] = None,
                 names: Optional[list[str]] = None) -> None:
        self.file, self.sample_shape, self.names = file, tuple(shape[1:]), names
        self.count = shape[0]
        self._array = array

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = np.memmap(self.file, np.uint8, "r", shape=(self.count,) + self.sample_shape)
        return self._array

    def __len__(self) -> int:
        return self.count

    def rows(self, index: np.ndarray) -> np.ndarray:
        return np.asarray(self.array[index])

    def describe(self, i: int) -> str:
        return self.names[i] if self.names else f"row {i}"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self.file is not None:
            state["_array"] = None  # a worker maps the file itself; the data never travels through a pipe
        return state


def cache_key(images: LazyImages) -> str:
    """A hash of what the decoded rows depend on: every file's name, size and mtime, and the decoding."""
    h = hashlib.sha256(json.dumps([CACHE_VERSION, images.channels, images.size, images.draft]).encode())
    for f in images.files:
        st = os.stat(f)
        h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def cache_folder(data_folder: Path) -> Path:
    """``.netspec-cache`` beside the data when it is writable, else the user's cache folder."""
    here = data_folder / ".netspec-cache"
    try:
        here.mkdir(exist_ok=True)
        probe = here / ".probe"
        probe.touch()
        probe.unlink()
        return here
    except OSError:
        home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "netspec"
        home.mkdir(parents=True, exist_ok=True)
        return home


def build_cache(images: LazyImages, kind: str, folder: Path, workers: int, skip: bool
                ) -> tuple[ImageCache, list[tuple[int, SampleFault]]]:
    """Decode every image once (in ``workers`` processes) into a ram array or a memory-mapped file.
    Returns the cache and the samples that could not be decoded (with ``skip``; else the first raises)."""
    shape = (len(images),) + images.sample_shape
    target: Optional[Path] = None
    if kind == "disk":
        target = cache_folder(folder) / f"images-{cache_key(images)}.u8"
        faults_file = target.with_suffix(".faults.json")
        if target.exists() and faults_file.exists():  # built before, completely (the rename is the last step)
            bad = [(int(i), SampleFault(**f)) for i, f in json.loads(faults_file.read_text())]
            return ImageCache(target, shape, names=images.files), bad
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        out: np.ndarray = np.memmap(tmp, np.uint8, "w+", shape=shape)
    else:
        out = np.empty(shape, np.uint8)
    faults: list[tuple[int, SampleFault]] = []
    counter = progress.task(f"decoding {len(images):,} images into the {kind} cache", len(images), "images")
    for start, rows, bad in read_in_workers(images, workers, skip):
        out[start:start + len(rows)] = rows
        faults += [(start + pos, fault) for pos, fault in bad]
        counter.advance(len(rows))
    counter.done()
    if target is None:
        return ImageCache(None, shape, array=out, names=images.files), faults
    out.flush()  # type: ignore[attr-defined]
    del out
    os.replace(tmp, target)
    target.with_suffix(".faults.json").write_text(json.dumps([[i, f.__dict__] for i, f in faults]))
    return ImageCache(target, shape, names=images.files), faults
