"""New data for a trained model (``netspec predict``), read against what the model was trained on.

The checkpoint's preprocessing state records the training data's schema: the feature columns in
order (``feature_names``), the categorical columns with their categories, the class labels, the
vocabulary. A prediction input must match it *by name*, never by position:

* tables (CSV, Parquet, JSON lines of objects): the training columns are found by their names, in
  any order; extra columns (a target column among them) are ignored and reported; a missing or
  renamed column is an error with a did-you-mean; a cell that is not a finite number, or a
  category the model never saw, is an error naming the file, the line (or row) and the column;
* arrays (.npz): every array is a field by its key; (.npy): the one array is the model's input;
  object arrays, strings, NaN rows and per-sample shapes the model cannot take are errors;
* JSON lines of token ids (a model trained on ``jsonl``): the training source's keys;
* a folder of images: each image decoded like the training images (channels, size); an image that
  cannot be read, or whose size differs where training did not resize, is an error naming it.

Every error is a DataError located at the input file (``file:line:col``, or the file alone),
never at the spec. A table from a model trained without column names (arrays, generated data)
can only be taken by position: that is allowed for a file with exactly the model's number of
columns, and said in the returned notes.
"""

from __future__ import annotations

import csv
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..diagnostics import did_you_mean
from ..errors import DataError, Location
from .faults import finite_rows
from .images import IMAGE_SUFFIXES
from .lazy import SampleFault
from .readers import first_bad_utf8_line
from .table import Table

FLOAT32_MAX = float(np.finfo(np.float32).max)
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl", ".npz", ".npy")


@dataclass
class Schema:
    """What the training data looked like (from the checkpoint's preprocessing state)."""
    feature_names: Optional[list[str]]
    categories: dict[str, list] = field(default_factory=dict)
    num_features: Optional[int] = None  # the width of the `features` input (one-hot columns included)
    source: Any = None  # the training source spec (keys of a jsonl source, image channels and size)
    image_resize: Optional[list[int]] = None  # training resized images in preprocessing
    state: Optional[dict] = None  # the checkpoint's whole preprocessing state

    @property
    def columns(self) -> list[str]:
        return list(self.feature_names or []) + list(self.categories)


@dataclass
class PredictionInput:
    table: Table
    notes: list[str] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)  # where each row came from ("line 7", "row 3", a file name)


def read_prediction_input(file: Path, schema: Schema, input_shapes: dict[str, tuple]) -> PredictionInput:
    """Read ``file`` (see the module docstring) for a model whose inputs have ``input_shapes``."""
    file = Path(file)
    if not file.exists():
        raise DataError("input not found", location=Location.whole(file), hint="give a file or a folder of images")
    if file.is_dir():
        return _image_folder(file, schema, input_shapes)
    if not file.is_file():
        kind = "a FIFO" if file.is_fifo() else "a device" if file.is_char_device() or file.is_block_device() else \
            "not a regular file"
        raise DataError(f"the input is {kind}, not a file", location=Location.whole(file),
                        hint="give a .csv, .parquet, .jsonl, .npy or .npz file, or a folder of images")
    suffix = file.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(f"cannot read {suffix or 'a file without a suffix'}", location=Location.whole(file),
                        hint=f"give one of {', '.join(SUFFIXES)}, or a folder of images")
    try:
        if suffix == ".csv":
            return _table(file, *_csv(file, schema), schema)
        if suffix in (".parquet", ".pq"):
            return _table(file, *_parquet(file), schema)
        if suffix == ".jsonl":
            return _jsonl(file, schema)
        return _arrays(file, schema, input_shapes)
    except UnicodeDecodeError:
        line = first_bad_utf8_line(file)
        raise DataError("not UTF-8 text", location=Location(str(file), line, 1), hint="save the file as UTF-8") from None
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror or exc}", location=Location.whole(file)) from None


# ---- tables --------------------------------------------------------------------------------------

def _csv(file: Path, schema: Schema) -> tuple[list[str], list[list[Any]], list[int], str]:
    delimiter = getattr(schema.source, "delimiter", ",") or ","
    header: Optional[list[str]] = None
    rows: list[list[Any]] = []
    lines: list[int] = []
    with open(file, newline="", encoding="utf-8-sig") as fh:  # utf-8-sig: a BOM is not part of a name
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            for row in reader:
                if header is None:
                    header = row
                    continue
                if not row:
                    continue
                if len(row) != len(header):
                    raise DataError(f"line {reader.line_num} has {len(row)} values, the header has {len(header)}",
                                    location=Location(str(file), reader.line_num, 1), hint="every row needs a value per column")
                rows.append(row)
                lines.append(reader.line_num)
        except csv.Error as exc:
            raise DataError(f"not valid CSV: {exc}", location=Location(str(file), reader.line_num, 1)) from None
    if header is None:
        raise DataError("the file is empty", location=Location.whole(file), hint="a CSV file with a header row")
    return header, rows, lines, "line"


def _parquet(file: Path) -> tuple[list[str], list[list[Any]], list[int], str]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        from ..distribution import install_hint

        raise DataError("reading Parquet needs pyarrow", location=Location.whole(file), hint=install_hint("parquet")) from None
    try:
        table = pq.read_table(file)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a corrupt file
        raise DataError(f"cannot read the Parquet file: {str(exc)[:200]}", location=Location.whole(file)) from None
    cols = table.to_pydict()
    header = list(cols)
    rows = [list(r) for r in zip(*cols.values())] if header else []
    return header, rows, list(range(1, len(rows) + 1)), "row"


def _table(file: Path, header: list[str], rows: list[list[Any]], numbers: list[int], unit: str,
           schema: Schema) -> PredictionInput:
    if not rows:
        raise DataError("the file holds no rows to predict", location=Location.whole(file))
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise DataError(f"column {dupes[0]!r} appears more than once", location=Location(str(file), 1, _col(header, dupes[0])))
    notes: list[str] = []
    if schema.feature_names is None and not schema.categories:
        names = _by_position(file, header, schema, notes)
    else:
        names = _by_name(file, header, schema, notes)
    where = lambda i, name: Location(str(file), numbers[i], _col(header, name) if unit == "line" else header.index(name) + 1)  # noqa: E731
    numeric = [n for n in names if n not in schema.categories]
    x = np.zeros((len(rows), len(numeric)), np.float32)
    for j, name in enumerate(numeric):
        k = header.index(name)
        for i, row in enumerate(rows):
            value = _number(row[k])
            if value is None:
                raise DataError(f"{unit} {numbers[i]}, column {name!r}: {row[k]!r} is not a finite number",
                                location=where(i, name), hint="every feature the model was trained on needs a number")
            if abs(value) > FLOAT32_MAX:  # it would become inf in the model's float32, and the prediction garbage
                raise DataError(f"{unit} {numbers[i]}, column {name!r}: {row[k]!r} is beyond float32's range (±3.4e38)",
                                location=where(i, name), hint="the model computes in float32: give a value it can hold")
            x[i, j] = value
    categorical = {}
    for col, cats in schema.categories.items():
        k = header.index(col)
        values = np.asarray(["" if r[k] is None else str(r[k]) for r in rows], dtype=object)
        known = {str(c) for c in cats}
        for i, v in enumerate(values):
            if v not in known:
                raise DataError(f"{unit} {numbers[i]}, column {col!r}: category {v!r} was not in the training data",
                                location=where(i, col), hint=f"known categories: {', '.join(map(str, cats[:10]))}")
        categorical[col] = values
    table = Table({"features": x}, categorical=categorical, feature_names=numeric)
    return PredictionInput(table, notes, [f"{unit} {n}" for n in numbers])


def _by_name(file: Path, header: list[str], schema: Schema, notes: list[str]) -> list[str]:
    missing = [c for c in schema.columns if c not in header]
    extra = [c for c in header if c not in schema.columns]
    if missing:
        hints = [h for h in (did_you_mean(m, extra) for m in missing[:3]) if h]
        raise DataError(f"{len(missing)} column(s) the model was trained on are missing: "
                        f"{', '.join(map(repr, missing[:5]))}{' …' if len(missing) > 5 else ''}",
                        location=Location(str(file), 1, 1),
                        hint="; ".join(hints) if hints else f"the training columns: {', '.join(schema.columns[:12])}"
                        + (" …" if len(schema.columns) > 12 else ""))
    if extra:
        notes.append(f"ignored {len(extra)} column(s) the model was not trained on: {', '.join(extra[:8])}"
                     + (" …" if len(extra) > 8 else ""))
    if [c for c in header if c in schema.columns] != schema.columns:
        notes.append("columns matched by name (their order in the file differs from training)")
    return list(schema.columns)


def _by_position(file: Path, header: list[str], schema: Schema, notes: list[str]) -> list[str]:
    if schema.num_features is not None and len(header) != schema.num_features:
        raise DataError(f"the file has {len(header)} column(s); the model takes {schema.num_features} features",
                        location=Location(str(file), 1, 1),
                        hint="the training data had no column names, so columns are taken in order: give exactly that many")
    notes.append("columns taken in file order: the training data had no column names to match them by")
    return list(header)


def _col(header: list[str], name: str) -> int:
    """1-based character column of ``name`` in a CSV header line (approximate for quoted names)."""
    col = 1
    for h in header:
        if h == name:
            return col
        col += len(h) + 1
    return 1


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


# ---- JSON lines ----------------------------------------------------------------------------------

def _jsonl(file: Path, schema: Schema) -> PredictionInput:
    objects, lines = [], []
    for i, line in enumerate(file.read_text(encoding="utf-8-sig").splitlines(), start=1):  # a BOM is not JSON
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise DataError(f"line {i} is not JSON: {exc}", location=Location(str(file), i, 1)) from None
        if not isinstance(obj, dict):
            raise DataError(f"line {i} holds a JSON {type(obj).__name__}, not an object", location=Location(str(file), i, 1))
        objects.append(obj)
        lines.append(i)
    if not objects:
        raise DataError("the file holds no rows to predict", location=Location.whole(file))
    key = getattr(schema.source, "tokens", None) if getattr(schema.source, "type", None) == "jsonl" else None
    if key is not None:
        return _token_lines(file, objects, lines, key)
    header = list(dict.fromkeys(k for obj in objects for k in obj))
    rows = []
    for obj, n in zip(objects, lines):
        absent = [c for c in schema.columns if c not in obj]
        if absent and len(absent) < len(schema.columns):
            raise DataError(f"line {n} has no {absent[0]!r}", location=Location(str(file), n, 1),
                            hint="every line needs every column the model was trained on")
        rows.append([obj.get(c) for c in header])
    return _table(file, header, rows, lines, "line", schema)


def _token_lines(file: Path, objects: list[dict], lines: list[int], key: str) -> PredictionInput:
    seqs = []
    for obj, n in zip(objects, lines):
        seq = obj.get(key)
        if not isinstance(seq, list) or not seq or not all(isinstance(t, int) and not isinstance(t, bool) for t in seq):
            raise DataError(f"line {n}: {key!r} must be a non-empty list of integer token ids", location=Location(str(file), n, 1))
        seqs.append(np.asarray(seq, np.int64))
    return PredictionInput(Table(ragged={"tokens": seqs}), [], [f"line {n}" for n in lines])


# ---- arrays --------------------------------------------------------------------------------------

def _arrays(file: Path, schema: Schema, input_shapes: dict[str, tuple]) -> PredictionInput:
    try:
        if file.suffix.lower() == ".npy":
            fields = {"features" if "features" in input_shapes or len(input_shapes) != 1 else next(iter(input_shapes)):
                      np.load(file, allow_pickle=False)}
        else:
            with np.load(file, allow_pickle=False) as npz:
                fields = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError, KeyError,
            zlib.error, struct.error) as exc:  # a corrupt zip raises any of these (an unknown version, a bad CRC...)
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        hint = "object arrays are not read (they could run code); save numbers" if "allow_pickle" in text else \
            "the file is truncated, corrupt or not a NumPy file"
        raise DataError(f"cannot read the arrays: {text}", location=Location.whole(file), hint=hint) from None
    rename = getattr(schema.source, "rename", None) or {}
    fields = {rename.get(k, k): v for k, v in fields.items()}
    if not fields:
        raise DataError("the file holds no arrays", location=Location.whole(file))
    for key, v in fields.items():
        if v.ndim == 0 or not (np.issubdtype(v.dtype, np.number) or v.dtype == bool):
            raise DataError(f"array {key!r} holds {'a scalar' if v.ndim == 0 else v.dtype}, not rows of numbers",
                            location=Location.whole(file))
        bad = np.flatnonzero(~finite_rows(v))
        if len(bad):
            raise DataError(f"array {key!r}, index {int(bad[0])}: NaN or Inf", location=Location.whole(file),
                            hint=f"{len(bad)} row(s) hold non-finite values")
        want = input_shapes.get(key)
        if want is not None and v.ndim - 1 != len(want):
            raise DataError(f"array {key!r} has per-sample shape {tuple(v.shape[1:])}, but the model's input {key!r} takes "
                            f"{len(want)}-d samples {tuple(want)}", location=Location.whole(file),
                            hint="rows are samples: give an array of shape (N, *input shape)")
    width = len(((schema.state or {}).get("features") or {}).get("scale") or [])
    if "features" in fields and width and fields["features"].ndim == 2 and fields["features"].shape[1] != width:
        raise DataError(f"array 'features' has {fields['features'].shape[1]} columns; the model was trained on {width}",
                        location=Location.whole(file))
    sizes = {k: len(v) for k, v in fields.items()}
    if len(set(sizes.values())) > 1:
        raise DataError(f"the arrays have different numbers of rows: {sizes}", location=Location.whole(file))
    for key, v in fields.items():
        if np.issubdtype(v.dtype, np.floating) and v.dtype.itemsize > 4 and len(v):
            big = np.flatnonzero(np.abs(v.reshape(len(v), -1)).max(axis=1) > FLOAT32_MAX)
            if len(big):  # it would become inf in float32, and the prediction garbage
                raise DataError(f"array {key!r}, index {int(big[0])}: a value beyond float32's range (±3.4e38)",
                                location=Location.whole(file), hint="the model computes in float32: give values it can hold")
    out = {k: v.astype(np.float32) if np.issubdtype(v.dtype, np.floating) else v for k, v in fields.items()}
    n = next(iter(sizes.values()))
    if n == 0:
        raise DataError("the arrays hold no rows", location=Location.whole(file), hint="give at least one sample")
    return PredictionInput(Table(out), [], [f"index {i}" for i in range(n)])


# ---- images --------------------------------------------------------------------------------------

def _image_folder(folder: Path, schema: Schema, input_shapes: dict[str, tuple]) -> PredictionInput:
    from .images import decode

    shape = next((s for s in input_shapes.values() if len(s) == 3), None)
    channels = getattr(schema.source, "channels", None) or (int(shape[0]) if shape and isinstance(shape[0], int) else 3)
    size = getattr(schema.source, "size", None)
    want = tuple(shape[1:]) if shape and all(isinstance(d, int) for d in shape[1:]) else None
    files = sorted(f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError("no images found in this folder", location=Location.whole(folder),
                        hint=f"images end in {', '.join(IMAGE_SUFFIXES)}")
    images = []
    for f in files:
        try:  # the training decoder: uint8, finished on the device like the training batches
            arr = decode(f, channels, tuple(size) if size is not None else None, getattr(schema.source, "draft", True))
        except SampleFault as fault:
            raise DataError(fault.problem, location=Location.whole(f)) from None
        if size is None and want is not None and arr.shape[1:] != want and not _resized_later(schema):
            raise DataError(f"the image is {arr.shape[1]}×{arr.shape[2]}; the model takes {want[0]}×{want[1]}",
                            location=Location.whole(f), hint="give images of the training size")
        images.append(arr)
    sizes = {a.shape for a in images}
    if len(sizes) > 1:
        raise DataError(f"the images have different sizes {sorted(sizes)[:3]}", location=Location.whole(folder))
    table = Table({"image": np.stack(images)})
    names = [str(f.relative_to(folder)) for f in files]
    table.feature_names = names
    return PredictionInput(table, [], names)


def _resized_later(schema: Schema) -> bool:
    """Training resized images in preprocessing (``data.preprocess.image.resize``)."""
    return bool(schema.image_resize)
