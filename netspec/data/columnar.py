"""Columnar files larger than memory: CSV and Parquet read in record batches into a column cache.

``streamed_table`` is ``readers.tabular`` for a file read with ``stream``: pyarrow reads it in record
batches (``netspec.data.record_batches``: ``pyarrow.csv.open_csv``, ``ParquetFile.iter_batches``),
so only a few batches of the file are ever in memory; each batch's rows are checked like the in-memory reader checks them (a ragged row,
a value that is not a finite number: ``data.bad_samples``, located at the file and line or row) and
appended to a column cache in ``.netspec-cache`` beside the data: the numeric feature columns as one
row-major float32 file, each categorical column as int32 codes into its values, the target (class
indices or float32 numbers) and each row's line. The cache is keyed on the file's path, size and
mtime and on the columns read, built in a temporary folder renamed into place at the end, and
reused by later runs while the file is unchanged.

The table's ``features`` is then a ``ColumnarRows``: a lazy field whose reads map the cache for
just the rows asked for (cheap, so batches are gathered in the main process and the mapping is
dropped after each read: memory holds a batch, not the file). ``netspec.data.streaming_stats``
fits standardize / min-max and the one-hot categories over the train split in one streaming pass
and wraps the rows in ``TransformedRows``, which applies the saved statistics batch by batch with
the very arithmetic of ``Preprocessor.transform``.

Why pyarrow and not Hugging Face ``datasets``: pyarrow is already what Parquet support needs, it
reads CSV and Parquet as a stream of record batches, and nothing here needs an Arrow copy of the
whole file (``datasets`` converts a CSV into an Arrow file of its own first).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..diagnostics import did_you_mean
from ..errors import DataError, SpecPath
from . import record_batches
from .faults import Faults, Origin
from .lazy import LazyField, Selected
from .table import Table

CACHE_VERSION = 1
STREAM_ENV = "NETSPEC_STREAM_BYTES"  # overrides the threshold of stream: auto (tests force streaming with it)
STREAM_BYTES = 64 * 2**20  # stream: auto streams a file larger than this ...
FREE_SHARE = 32  # ... or larger than 1/32 of the free memory
BATCH_ROWS = 65536  # rows per chunk of the statistics pass (the file's record batches: ``record_batches``)


def stream_threshold() -> int:
    """The file size above which ``stream: auto`` streams (``NETSPEC_STREAM_BYTES`` overrides 64 MiB)."""
    given = os.environ.get(STREAM_ENV)
    if given:
        return int(given)
    free = _free_bytes()
    return min(STREAM_BYTES, free // FREE_SHARE) if free else STREAM_BYTES


def _free_bytes() -> Optional[int]:
    """The kernel's MemAvailable (None where unknown). ``netspec.resources`` has the full answer, but
    importing it from a reader would close an import cycle through the spec."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def wants_stream(setting: Any, file: Path, needs_pyarrow: bool = True) -> bool:
    """``stream: true|false``, or (auto) whether ``file`` is large enough to be streamed (and pyarrow,
    which streaming CSV and Parquet needs, is installed: without it auto reads the file whole)."""
    if setting != "auto":
        return bool(setting)
    if file.stat().st_size <= stream_threshold():
        return False
    if not needs_pyarrow:
        return True
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


# ---- the lazy rows ---------------------------------------------------------------------------------

class ColumnarRows(LazyField):
    """The numeric feature columns of a column cache (float32, row-major), and its categorical codes."""

    cheap = True  # a read maps the cache for just these rows: no worker processes needed
    streamed = True  # keep it streamed under data.loader.on_device: auto

    def __init__(self, folder: Path, count: int, numeric: list[str], categories: dict[str, list[str]],
                 origin: Origin) -> None:
        self.folder, self.count, self.numeric, self.categories = Path(folder), count, list(numeric), categories
        self.origin = origin
        self.dtype, self.sample_shape = np.dtype(np.float32), (len(numeric),)

    def __len__(self) -> int:
        return self.count

    def _map(self, name: str, dtype: Any, shape: tuple[int, ...], index: np.ndarray) -> np.ndarray:
        if self.count == 0 or int(np.prod(shape[1:], dtype=np.int64)) == 0:
            return np.zeros((len(index),) + shape[1:], dtype)
        mapped = np.memmap(self.folder / name, dtype, "r", shape=shape)
        try:
            return np.array(mapped[index])  # a copy: the mapping (and its pages) go when it is dropped
        finally:
            del mapped

    def rows(self, index: np.ndarray) -> np.ndarray:
        return self._map("features.f32", np.float32, (self.count, len(self.numeric)), np.asarray(index, np.int64))

    def codes(self, column: str, index: np.ndarray) -> np.ndarray:
        """The codes of categorical ``column`` at ``index`` (into ``categories[column]``, the file's values)."""
        j = list(self.categories).index(column)
        return self._map(f"cat{j}.i32", np.int32, (self.count,), np.asarray(index, np.int64))

    def describe(self, i: int) -> str:
        return self.origin.describe(i)


def base_of(value: Any) -> tuple[Optional[ColumnarRows], Optional[np.ndarray]]:
    """The column cache rows behind ``value`` (a ``ColumnarRows`` or a split's view of one), and the
    view's row index into it (None: all rows)."""
    if isinstance(value, ColumnarRows):
        return value, None
    if isinstance(value, Selected) and isinstance(value.base, ColumnarRows):
        return value.base, value.index
    return None, None


def is_streamed(value: Any) -> bool:
    """A field read from a column cache (or transformed from one): kept streamed by on_device: auto."""
    base = value.base if isinstance(value, Selected) else value
    return bool(getattr(type(base), "streamed", False))


class TransformedRows(LazyField):
    """Rows of a column cache with the fitted preprocessing applied, batch by batch: the numeric
    columns, then each categorical column one-hot over the train split's categories, then the
    affine scaling, exactly as ``Preprocessor.transform`` computes them in memory."""

    cheap = True
    streamed = True

    def __init__(self, rows: LazyField, categories: dict[str, list], affine: Optional[dict], apply: Any) -> None:
        base, index = base_of(rows)
        assert base is not None  # noqa: S101 - internal: only called on column cache rows
        self.base, self.index, self.affine, self.apply = base, index, affine, apply  # apply: preprocess._apply
        self.lookup = {}  # column -> file code -> one-hot position (-1: a value the train split lacked)
        for col, cats in categories.items():
            where = {str(c): k for k, c in enumerate(cats)}
            self.lookup[col] = (np.asarray([where.get(v, -1) for v in base.categories[col]], np.int64), len(cats))
        width = len(base.numeric) + sum(n for _, n in self.lookup.values())
        self.dtype, self.sample_shape = np.dtype(np.float32), (width,)

    def __len__(self) -> int:
        return len(self.index) if self.index is not None else len(self.base)

    def rows(self, index: np.ndarray) -> np.ndarray:
        at = self.index[index] if self.index is not None else np.asarray(index, np.int64)
        parts = [self.base.rows(at).astype(np.float32)]
        for col, (lut, n) in self.lookup.items():
            code = lut[self.base.codes(col, at)] if len(lut) else np.full(len(at), -1)
            parts.append((code[:, None] == np.arange(n)[None, :]).astype(np.float32))
        x = np.concatenate(parts, 1) if len(parts) > 1 else parts[0]
        return self.apply(self.affine, x)

    def describe(self, i: int) -> str:
        return self.base.describe(int(self.index[i]) if self.index is not None else i)


# ---- reading ---------------------------------------------------------------------------------------

def streamed_table(source: Any, file: Path, classify: bool, path: SpecPath, faults: Optional[Faults] = None,
                   expect: Optional[dict] = None) -> Table:
    """``readers.tabular`` for a file read in record batches (the module docstring)."""
    from .readers import _expected

    faults = faults or Faults()
    names = record_batches.column_names(source, file, path)
    cols = dict.fromkeys(names)
    targets = [source.target] if isinstance(source.target, str) else list(source.target or [])
    source = _expected(source, expect or {}, cols, file, path)
    for key, listed in (("target", targets), ("features", source.features or []), ("categorical", source.categorical)):
        for i, name in enumerate(listed):
            if name not in cols:
                where = path + (key,) + ((i,) if key != "target" or isinstance(source.target, list) else ())
                raise DataError(f"column {name!r} not found in {file.name}", path=where,
                                hint=did_you_mean(name, cols) or f"columns: {', '.join(cols)}")
    features = source.features or [c for c in names if c not in targets]
    layout = {"numeric": [c for c in features if c not in source.categorical], "categorical": list(source.categorical),
              "targets": targets, "classify": classify and len(targets) == 1,
              "classes": [str(c) for c in source.classes] if source.classes is not None else None}
    folder, meta = cached(source, file, layout, path, faults, record_batches.build)
    n = meta["count"]
    lines = np.memmap(folder / "lines.i64", np.int64, "r", shape=(n,)) if n else np.zeros(0, np.int64)
    origin = Origin(str(file), meta["unit"], lines, total=meta["total"])
    rows = ColumnarRows(folder, n, layout["numeric"], meta["categories"], origin)
    table = Table({"features": rows}, feature_names=layout["numeric"], origin=origin)
    if targets:
        table.fields["target"], table.classes = _target(folder, meta, layout, n, path)
    return table


def cache_key(source: Any, file: Path, layout: dict) -> str:
    st = file.stat()
    what = [CACHE_VERSION, str(file.resolve()), st.st_size, st.st_mtime_ns, source.type,
            getattr(source, "delimiter", None), layout]
    return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:20]


def cached(source: Any, file: Path, layout: dict, path: SpecPath, faults: Faults, build: Any) -> tuple[Path, dict]:
    """The cache folder of ``file`` read with ``layout`` and its meta: reused when complete (the rows
    it left out are counted again under data.bad_samples), else built now by ``build(source, file,
    layout, path, faults, folder, reject)`` in a temporary folder renamed into place at the end."""
    from .images import cache_folder

    target = cache_folder(file.parent) / f"{source.type}-{cache_key(source, file, layout)}"
    bad = faults.of(file, path + ("path",))
    if (target / "meta.json").exists():
        meta = json.loads((target / "meta.json").read_text())
        for where, problem, reason, hint in meta["faults"]:
            bad.bad(where, problem, reason, hint=hint)
        bad.limit(meta["total"])
        return target, meta
    recorded: list[list[Any]] = []

    def reject(where: str, problem: str, reason: str, hint: Optional[str] = None) -> None:
        bad.bad(where, problem, reason, hint=hint)  # the located error, unless data.bad_samples: skip
        recorded.append([where, problem, reason, hint])

    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        meta = {**build(source, file, layout, path, faults, tmp, reject), "faults": recorded}
        (tmp / "meta.json").write_text(json.dumps(meta))  # a cache with its meta is complete
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    bad.limit(meta["total"])
    return target, meta


def _target(folder: Path, meta: dict, layout: dict, n: int, path: SpecPath) -> tuple[np.ndarray, Optional[list]]:
    """The target column(s), memory-mapped: class indices (int64) or numbers (float32)."""
    if layout["classify"]:
        y = np.memmap(folder / "target.i64", np.int64, "r", shape=(n,)) if n else np.zeros(0, np.int64)
        return y, meta["classes"]
    shape = (n,) if len(layout["targets"]) == 1 else (n, len(layout["targets"]))
    y = np.memmap(folder / "target.f32", np.float32, "r", shape=shape) if n else np.zeros(shape, np.float32)
    return y, (list(layout["targets"]) if len(layout["targets"]) > 1 else None)


