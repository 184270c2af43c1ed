"""Reading a CSV or Parquet file in record batches into a column cache (``columnar``'s build).

``build`` makes one pass over the file's record batches (``pyarrow.csv.open_csv`` with every column
as strings, ``ParquetFile.iter_batches``), checks each row as ``readers.tabular`` does (a ragged row,
a value that is not a finite number by Python's ``float``: ``reject``, located at the file and the
line or row, in whatever batch it is met) and appends the usable rows to the cache files:
``features.f32`` (the numeric feature columns, row-major), ``cat<j>.i32`` (codes into each
categorical column's values, in order of first appearance), ``target.i64`` (class indices, ordered
as ``readers._target`` orders the labels) or ``target.f32``, and ``lines.i64``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from ..distribution import install_hint
from ..errors import DataError, SpecPath
from . import progress
from .faults import Faults

BATCH_ROWS = 65536  # rows per Parquet record batch
CSV_BLOCK = 2**20  # bytes per CSV block read by pyarrow (it reads ~30 blocks ahead: this bounds that)


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


def build(source: Any, file: Path, layout: dict, path: SpecPath, faults: Faults, folder: Path, reject: Any) -> dict:
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
