"""Columnar files larger than memory: CSV and Parquet read in record batches into a column cache.

``streamed_table`` is ``readers.tabular`` for a file read with ``stream``: pyarrow reads it in record
batches (``pyarrow.csv.open_csv``, ``ParquetFile.iter_batches``), so only one batch of the file is
ever in memory; each batch's rows are checked like the in-memory reader checks them (a ragged row,
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
from typing import Any, Iterator, Optional

import numpy as np

from ..diagnostics import did_you_mean
from ..distribution import install_hint
from ..errors import DataError, SpecPath
from . import progress
from .faults import Faults, Origin
from .lazy import LazyField, Selected
from .table import Table

CACHE_VERSION = 1
STREAM_ENV = "NETSPEC_STREAM_BYTES"  # overrides the threshold of stream: auto (tests force streaming with it)
STREAM_BYTES = 64 * 2**20  # stream: auto streams a file larger than this ...
FREE_SHARE = 32  # ... or larger than 1/32 of the free memory
BATCH_ROWS = 65536  # rows per record batch (Parquet) and per chunk of the statistics pass
CSV_BLOCK = 2**20  # bytes per CSV block read by pyarrow (it reads ~30 blocks ahead: this bounds that)


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
    names = column_names(source, file, path)
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
    folder, meta = cached(source, file, layout, path, faults, _build)
    n = meta["count"]
    lines = np.memmap(folder / "lines.i64", np.int64, "r", shape=(n,)) if n else np.zeros(0, np.int64)
    origin = Origin(str(file), meta["unit"], lines, total=meta["total"])
    rows = ColumnarRows(folder, n, layout["numeric"], meta["categories"], origin)
    table = Table({"features": rows}, feature_names=layout["numeric"], origin=origin)
    if targets:
        table.fields["target"], table.classes = _target(folder, meta, layout, n, path)
    return table


def column_names(source: Any, file: Path, path: SpecPath) -> list[str]:
    if source.type == "csv":
        import csv

        with open(file, newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh, delimiter=source.delimiter), None)
        if header is None:
            raise DataError(f"{file} is empty", path=path + ("path",))
        return header
    pq = _pyarrow(path)[2]
    try:
        return list(pq.ParquetFile(file).schema_arrow.names)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds
        raise DataError(f"cannot read {file}: {exc}", path=path + ("path",)) from None


def _pyarrow(path: SpecPath) -> Any:
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("reading a file in record batches (stream) needs pyarrow", path=path + ("stream",),
                        hint=install_hint("parquet")) from None
    return pa, pc, pq, pacsv


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


def _build(source: Any, file: Path, layout: dict, path: SpecPath, faults: Faults, folder: Path, reject: Any) -> dict:
    """One pass over the file's record batches: check each row, append the usable ones to the cache."""
    unit = "line" if source.type == "csv" else "row"
    files = ["features.f32", "lines.i64"] + [f"cat{j}.i32" for j in range(len(layout["categorical"]))]
    files += ["labels.i32"] if layout["classify"] else ["target.f32"] if layout["targets"] else []
    out = {name: open(folder / name, "wb") for name in files}
    values: list[dict[str, int]] = [{} for _ in layout["categorical"]]
    labels: dict[str, int] = {}
    count = total = 0
    counter = progress.task(f"reading {file.name} in record batches into the column cache", None, "rows")
    reader = _CsvBatches(source, file, layout, path, reject) if source.type == "csv" else _ParquetBatches(file, layout, path)
    try:
        for batch, numbers, keep in reader:
            total += len(numbers)
            _check(batch, numbers, layout, keep, f"{file}, {unit}", reject, path)
            _append(out, values, labels, batch, numbers, keep, layout)
            count += int(keep.sum())
            counter.advance(len(numbers))
        total += reader.invalid
    finally:
        for fh in out.values():
            fh.close()
        counter.done()
    meta: dict[str, Any] = {"count": count, "total": total, "unit": unit,
                            "categories": {c: list(v) for c, v in zip(layout["categorical"], values)}}
    if layout["classify"]:
        meta["classes"] = _classes(list(labels), layout["classes"], path)
        index = {c: i for i, c in enumerate(meta["classes"])}
        lut = np.asarray([index[v] for v in labels], np.int64)
        codes = np.memmap(folder / "labels.i32", np.int32, "r", shape=(count,)) if count else np.zeros(0, np.int32)
        with open(folder / "target.i64", "wb") as fh:
            for start in range(0, count, BATCH_ROWS):
                fh.write(lut[codes[start:start + BATCH_ROWS]].tobytes())
        del codes
        os.remove(folder / "labels.i32")
    return meta


def _classes(found: list[str], given: Optional[list[str]], path: SpecPath) -> list[str]:
    """The class labels in index order, as ``readers._target`` orders them."""
    from .readers import _is_int

    if given is None:
        return sorted(found, key=lambda v: (not _is_int(v), int(v) if _is_int(v) else 0, v))
    unknown = sorted(set(found) - set(given))
    if unknown:
        raise DataError(f"label(s) {', '.join(map(repr, unknown[:5]))} not among the classes {given}",
                        path=path + ("classes",), hint="add them to `classes`, or fix the data")
    return list(given)


def _target(folder: Path, meta: dict, layout: dict, n: int, path: SpecPath) -> tuple[np.ndarray, Optional[list]]:
    """The target column(s), memory-mapped: class indices (int64) or numbers (float32)."""
    if layout["classify"]:
        y = np.memmap(folder / "target.i64", np.int64, "r", shape=(n,)) if n else np.zeros(0, np.int64)
        return y, meta["classes"]
    shape = (n,) if len(layout["targets"]) == 1 else (n, len(layout["targets"]))
    y = np.memmap(folder / "target.f32", np.float32, "r", shape=shape) if n else np.zeros(shape, np.float32)
    return y, (list(layout["targets"]) if len(layout["targets"]) > 1 else None)


def _needed(layout: dict) -> list[str]:
    return list(dict.fromkeys(layout["numeric"] + layout["categorical"] + layout["targets"]))


class _CsvBatches:
    """A CSV file's record batches (every column as strings), with the line of each row. Rows with
    the wrong number of values go to ``reject`` (ragged rows); quoted values may not span lines."""

    def __init__(self, source: Any, file: Path, layout: dict, path: SpecPath, reject: Any) -> None:
        self.source, self.file, self.layout, self.path, self.reject = source, file, layout, path, reject
        self.width = len(column_names(source, file, path))
        self.invalid = 0

    def __iter__(self) -> Iterator[tuple[dict[str, Any], np.ndarray, np.ndarray]]:
        pa, pc, _pq, pacsv = _pyarrow(self.path)
        needed = _needed(self.layout)
        ragged: list[tuple[int, int]] = []

        def invalid_row(row: Any) -> str:
            ragged.append((int(row.number), int(row.actual_columns)))
            return "skip"

        try:
            reader = pacsv.open_csv(
                self.file, read_options=pacsv.ReadOptions(block_size=CSV_BLOCK, use_threads=False),
                parse_options=pacsv.ParseOptions(delimiter=self.source.delimiter, ignore_empty_lines=False,
                                                 newlines_in_values=False, invalid_row_handler=invalid_row),
                convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in needed}, include_columns=needed,
                                                     strings_can_be_null=False))
            line = 2  # the physical line of the next row (line 1 is the header)
            for batch in reader:
                n = batch.num_rows
                pending = np.asarray(sorted(r for r, _ in ragged), np.int64)
                lines = np.arange(line, line + n + len(pending), dtype=np.int64)
                lines = lines[~np.isin(lines, pending)][:n]
                last = int(lines[-1]) if n else line - 1
                self._ragged([r for r in ragged if r[0] <= last], ragged)
                line = last + 1
                if not n:
                    continue
                cols = {c: batch.column(c) for c in needed}
                keep = np.ones(n, bool)
                empty = np.ones(n, bool)  # a blank line: no values at all (pyarrow gives '' for every column)
                for arr in cols.values():
                    if empty.any():
                        empty &= np.asarray(pc.binary_length(arr).to_numpy(zero_copy_only=False) == 0, bool)
                for i in np.flatnonzero(empty):
                    self.reject(f"{self.file}, line {lines[i]}", f"0 values, the header has {self.width}", "ragged row")
                    keep[i] = False
                yield cols, lines, keep
            self._ragged(list(ragged), ragged)
        except pa.ArrowInvalid as exc:
            from .readers import first_bad_utf8_line

            if "UTF8" in str(exc) or "UTF-8" in str(exc):
                raise DataError(f"{self.file}, line {first_bad_utf8_line(self.file)}: not UTF-8 text",
                                path=self.path + ("path",), hint="save the file as UTF-8") from None
            raise DataError(f"{self.file}: cannot read it as CSV: {str(exc)[:200]}", path=self.path + ("path",)) from None

    def _ragged(self, rows: list[tuple[int, int]], pending: list[tuple[int, int]]) -> None:
        for row in sorted(rows):
            pending.remove(row)
            self.invalid += 1
            self.reject(f"{self.file}, line {row[0]}", f"{row[1]} values, the header has {self.width}", "ragged row")


class _ParquetBatches:
    """A Parquet file's record batches, with the row number (1-based) of each row."""

    def __init__(self, file: Path, layout: dict, path: SpecPath) -> None:
        self.file, self.layout, self.path = file, layout, path
        self.invalid = 0

    def __iter__(self) -> Iterator[tuple[dict[str, Any], np.ndarray, np.ndarray]]:
        pq = _pyarrow(self.path)[2]
        needed, start = _needed(self.layout), 1
        try:
            # pre_buffer=False: with it, pyarrow reads every row group's columns ahead, the whole file at once
            for batch in pq.ParquetFile(self.file, pre_buffer=False).iter_batches(batch_size=BATCH_ROWS, columns=needed):
                n = batch.num_rows
                yield {c: batch.column(c) for c in needed}, np.arange(start, start + n, dtype=np.int64), np.ones(n, bool)
                start += n
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a corrupt file
            raise DataError(f"cannot read {self.file}: {str(exc)[:200]}", path=self.path + ("path",)) from None


def _floats(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """A column's values as float64 and whether each is a finite number (Python's ``float`` rules,
    as the in-memory reader applies them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) or pa.types.is_integer(arr.type) \
            or pa.types.is_floating(arr.type) or pa.types.is_boolean(arr.type):
        try:
            x = np.asarray(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), np.float64)
            return x, np.isfinite(x)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    from .readers import _is_number

    values = arr.to_pylist()
    x = np.asarray([float(v) if _is_number(v) else np.nan for v in values], np.float64)
    return x, np.isfinite(x)


def _check(cols: dict[str, Any], numbers: np.ndarray, layout: dict, keep: np.ndarray, where: str, reject: Any,
           path: SpecPath) -> None:
    """Rows whose numeric values are not finite numbers go to ``reject`` and out of ``keep``; the
    parsed numbers are kept on ``cols`` (as ``(name, float)``) for ``_append``."""
    from .readers import _is_number

    checked = layout["numeric"] + ([t for t in layout["targets"]] if not layout["classify"] else [])
    for name in dict.fromkeys(checked):
        x, ok = _floats(cols[name])
        cols[(name, float)] = x
        for i in np.flatnonzero(keep & ~ok):
            value = cols[name][int(i)].as_py()
            hint = None if _is_number(value) else "list the column under `categorical` to one-hot encode it"
            reject(f"{where} {numbers[i]}", f"column {name!r} holds {value!r}, not a finite number", "bad value", hint)
            keep[i] = False


def _strings(arr: Any) -> list[str]:
    """A column's values as the in-memory reader's ``str`` of each (None -> 'None')."""
    import pyarrow as pa

    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return ["None" if v is None else v for v in arr.to_pylist()]
    return [str(v) for v in arr.to_pylist()]


def _append(out: dict, values: list[dict[str, int]], labels: dict[str, int], cols: dict[Any, Any], numbers: np.ndarray,
            keep: np.ndarray, layout: dict) -> None:
    import pyarrow as pa

    if not keep.any():
        return
    mask = pa.array(keep)
    if layout["numeric"]:
        out["features.f32"].write(np.stack([cols[(c, float)][keep] for c in layout["numeric"]], 1)
                                  .astype(np.float32).tobytes())
    out["lines.i64"].write(numbers[keep].astype(np.int64).tobytes())
    for j, c in enumerate(layout["categorical"]):
        out[f"cat{j}.i32"].write(_encode(_strings(cols[c].filter(mask)), values[j]).tobytes())
    if layout["classify"]:
        out["labels.i32"].write(_encode(_strings(cols[layout["targets"][0]].filter(mask)), labels).tobytes())
    elif layout["targets"]:
        y = np.stack([cols[(t, float)][keep] for t in layout["targets"]], 1).astype(np.float32)
        out["target.f32"].write(y.tobytes())


def _encode(strings: list[str], seen: dict[str, int]) -> np.ndarray:
    """Codes of ``strings`` into ``seen`` (value -> code, grown in order of first appearance)."""
    return np.fromiter((seen.setdefault(s, len(seen)) for s in strings), np.int32, len(strings))
