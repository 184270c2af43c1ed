"""File sources -> Table: CSV, Parquet, .npz/.npy arrays, image folders, text, JSONL.

Every problem is a DataError at a spec path (``data.source.path`` for a missing file,
``data.source.target`` for a missing column, ...), so the CLI shows file:line:col, and a bad
sample also names its file and row (``faults.py``: or is left out and counted, with
``data.bad_samples: skip``). Files are only ever opened for reading.
"""

from __future__ import annotations

import csv
import json
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from ..diagnostics import did_you_mean
from ..distribution import install_hint
from ..errors import DataError, SpecPath
from . import progress
from .faults import Faults, FileFaults, Origin, finite_rows
from .images import IMAGE_SUFFIXES
from .lazy import SampleFault
from .table import Table


@contextmanager
def reading(source, base: Path, path: SpecPath) -> Iterator[None]:
    """Around a file source's reader: undecodable text and OS errors become DataErrors at ``path.path``
    (each source's ``read`` in ``netspec.sources`` opens this, then calls its reader below)."""
    try:
        yield
    except UnicodeDecodeError:
        file = Path(source.path) if Path(source.path).is_absolute() else base / source.path
        raise DataError(f"{file}, line {first_bad_utf8_line(file)}: not UTF-8 text", path=path + ("path",),
                        hint="save the file as UTF-8") from None
    except OSError as exc:  # permissions, a directory where a file should be, I/O errors
        raise DataError(f"cannot read {exc.filename or getattr(source, 'path', '')}: {exc.strerror or exc}",
                        path=path + ("path",)) from None


def first_bad_utf8_line(file: Path) -> int:
    with open(file, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


def locate(base: Path, name: str, path: SpecPath, key: str = "path", folder: bool = False) -> Path:
    """The file (or folder) ``name`` relative to ``base``; a DataError at ``path.key`` when it is missing."""
    full = Path(name) if Path(name).is_absolute() else base / name
    if not (full.is_dir() if folder else full.is_file()):
        raise DataError(f"{'folder' if folder else 'file'} not found: {full}", path=path + (key,),
                        hint="paths are relative to the spec file")
    return full


# ---- tabular ---------------------------------------------------------------------------------------

def read_columns(source, file: Path, path: SpecPath) -> dict[str, np.ndarray]:
    """Column name -> array of strings (CSV) or values (Parquet)."""
    return read_rows(source, file, path)[0]


def read_rows(source, file: Path, path: SpecPath, faults: Faults | None = None) -> tuple[dict[str, np.ndarray], Origin]:
    """Column name -> array of strings (CSV) or values (Parquet), and where each row came from (the
    source's own ``rows``: ``csv_rows`` or ``parquet_rows``)."""
    return source.rows(file, path, faults or Faults())


def parquet_rows(file: Path, path: SpecPath) -> tuple[dict[str, np.ndarray], Origin]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("reading Parquet needs pyarrow", path=path + ("type",),
                        hint=install_hint("parquet")) from None
    try:
        table = pq.read_table(file)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds
        raise DataError(f"cannot read {file}: {exc}", path=path + ("path",)) from None
    cols = {k: np.asarray(v, dtype=object) for k, v in table.to_pydict().items()}
    return cols, Origin(str(file), "row", np.arange(1, table.num_rows + 1), total=table.num_rows)


def csv_rows(source, file: Path, path: SpecPath, faults: Faults) -> tuple[dict[str, np.ndarray], Origin]:
    """Column name -> array of strings, and the line of each row (ragged rows go to ``faults``)."""
    bad = faults.of(file, path + ("path",))
    header, body, lines = None, [], []
    with open(file, newline="", encoding="utf-8-sig") as fh:  # utf-8-sig: a BOM (spreadsheet exports) is not part of a name
        reader = csv.reader(fh, delimiter=source.delimiter)
        try:
            for row in reader:
                if header is None:
                    header = row
                elif len(row) != len(header):
                    bad.bad(f"{file}, line {reader.line_num}", f"{len(row)} values, the header has {len(header)}",
                            "ragged row")
                else:
                    body.append(row)
                    lines.append(reader.line_num)
        except csv.Error as exc:
            raise DataError(f"{file}, line {reader.line_num}: {exc}", path=path + ("path",)) from None
    if header is None:
        raise DataError(f"{file} is empty", path=path + ("path",))
    cols = list(zip(*body)) if body else [()] * len(header)
    rows_read = reader.line_num - 1 if body else len(body)
    origin = Origin(str(file), "line", np.asarray(lines, dtype=np.int64), total=max(rows_read, len(body)))
    return {name: np.asarray(col, dtype=object) for name, col in zip(header, cols)}, origin


def tabular(source, file: Path, classify: bool, path: SpecPath, faults: Faults | None = None,
            expect: dict | None = None) -> Table:
    faults = faults or Faults()
    cols, origin = read_rows(source, file, path, faults)
    targets = [source.target] if isinstance(source.target, str) else list(source.target or [])
    source = _expected(source, expect or {}, cols, file, path)
    for key, names in (("target", targets), ("features", source.features or []), ("categorical", source.categorical)):
        for i, name in enumerate(names):
            if name not in cols:
                where = path + (key,) + ((i,) if key != "target" or isinstance(source.target, list) else ())
                raise DataError(f"column {name!r} not found in {file.name}", path=where,
                                hint=did_you_mean(name, cols) or f"columns: {', '.join(cols)}")
    cols, origin = _usable_rows(source, cols, origin, classify, faults.of(origin.file, path + ("path",)))
    features = source.features or [c for c in cols if c not in targets]
    numeric = [c for c in features if c not in source.categorical]
    x = np.zeros((len(origin.numbers), len(numeric)), np.float32)  # type: ignore[arg-type]
    for j, name in enumerate(numeric):
        x[:, j] = _numbers(cols[name], name, path + ("features",))
    table = Table({"features": x}, categorical={c: cols[c].astype(str) for c in source.categorical}, feature_names=numeric,
                  origin=origin)
    if targets:
        table.fields["target"], table.classes = _target(cols, targets, classify, source.classes, path)
    return table


def _expected(source, expect: dict, cols: dict, file: Path, path: SpecPath):
    """The source with the training's feature columns and classes (see ``read``)."""
    features, classes = expect.get("features"), expect.get("classes")
    update: dict = {}
    if features is not None:
        given = [c for c in (source.features or []) if c not in source.categorical]
        if source.features is not None and given != list(features):
            raise DataError(f"data.source.features lists {given[:6]}, but the model was trained on {list(features)[:6]}",
                            path=path + ("features",), hint="give the feature columns the model was trained on")
        for name in features:
            if name not in cols:
                raise DataError(f"column {name!r}, a feature the model was trained on, is not in {file.name}",
                                path=path + ("path",), hint=did_you_mean(name, cols) or f"columns: {', '.join(cols)}")
        update["features"] = list(features) + list(source.categorical)
    if classes is not None and source.classes is None:
        update["classes"] = list(classes)
    return source.model_copy(update=update) if update else source


def _usable_rows(source, cols: dict, origin: Origin, classify: bool, bad: FileFaults) -> tuple[dict, Origin]:
    """Drop (skip) or report (error) rows whose numeric values are not numbers, or not finite."""
    targets = [source.target] if isinstance(source.target, str) else list(source.target or [])
    checked = [c for c in (source.features or [c for c in cols if c not in targets]) if c not in source.categorical]
    checked += [t for t in targets if t in cols and (not classify or len(targets) > 1)]
    n = len(origin.numbers)  # type: ignore[arg-type]
    keep = np.ones(n, bool)
    for name in (c for c in checked if c in cols):
        for i in np.flatnonzero(keep & ~_numeric_ok(cols[name])):
            value = cols[name][i]
            problem = f"column {name!r} holds {value!r}, not a finite number"
            hint = None if _is_number(value) else "list the column under `categorical` to one-hot encode it"
            bad.bad(origin.describe(i), problem, "bad value", hint=hint)
            keep[i] = False
    bad.limit(origin.total)  # ragged rows and bad values together
    if keep.all():
        return cols, origin
    index = np.flatnonzero(keep)
    return {k: v[index] for k, v in cols.items()}, origin.take(index)


def _numeric_ok(col: np.ndarray) -> np.ndarray:
    """Per value: it parses as a finite number."""
    try:
        return np.isfinite(col.astype(np.float64))
    except (TypeError, ValueError):
        return np.fromiter((_is_number(v) and np.isfinite(float(v)) for v in col), bool, len(col))


def _numbers(col: np.ndarray, name: str, path: SpecPath) -> np.ndarray:
    try:
        return col.astype(np.float64)
    except (TypeError, ValueError):
        bad = next(v for v in col if not _is_number(v))
        raise DataError(f"column {name!r} holds {bad!r}, not a number", path=path,
                        hint="list it under `categorical` to one-hot encode it") from None


def _is_number(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def _target(cols, targets, classify, classes, path):
    if len(targets) > 1:  # several target columns: a multilabel 0/1 matrix or a vector regression
        return np.stack([_numbers(cols[t], t, path + ("target",)) for t in targets], 1).astype(np.float32), targets
    col = cols[targets[0]]
    if not classify:
        return _numbers(col, targets[0], path + ("target",)).astype(np.float32), None
    values = [str(v) for v in col]
    if classes is None:
        uniq = sorted(set(values), key=lambda v: (not _is_int(v), int(v) if _is_int(v) else 0, v))
        labels = uniq
    else:
        labels = [str(c) for c in classes]
    index = {c: i for i, c in enumerate(labels)}
    unknown = sorted(set(values) - set(index))
    if unknown:
        raise DataError(f"label(s) {', '.join(map(repr, unknown[:5]))} not among the classes {labels}",
                        path=path + ("classes",), hint="add them to `classes`, or fix the data")
    return np.asarray([index[v] for v in values], np.int64), labels


def _is_int(v: str) -> bool:
    try:
        int(v)
        return True
    except ValueError:
        return False


# ---- arrays, images, text, jsonl ---------------------------------------------------------------

def arrays(source: Any, base: Path, path: SpecPath, faults: Faults | None = None) -> Table:
    faults = faults or Faults()
    fields: dict[str, np.ndarray] = {}
    files: dict[str, Path] = {}
    if source.path is not None:
        file = locate(base, source.path, path)
        try:
            with np.load(file, allow_pickle=False) as npz:
                fields = {k: npz[k] for k in npz.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(f"cannot read {file}: {exc}", path=path + ("path",)) from None
        files = dict.fromkeys(fields, file)
    for name, fname in source.files.items():
        file = locate(base, fname, path + ("files",), name)
        try:
            fields[name], files[name] = np.load(file, allow_pickle=False), file
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(f"cannot read {file}: {exc}", path=path + ("files", name)) from None
    for key, new in source.rename.items():
        if key not in fields:
            raise DataError(f"array {key!r} not found", path=path + ("rename", key), hint=f"arrays: {', '.join(fields)}")
        fields[new], files[new] = fields.pop(key), files.pop(key)
    for key, v in fields.items():
        if v.ndim == 0 or not (np.issubdtype(v.dtype, np.number) or v.dtype == bool):
            raise DataError(f"array {key!r} in {files[key]} holds {'a scalar' if v.ndim == 0 else v.dtype}, not rows of "
                            "numbers", path=path + ("path",) if source.path is not None else path + ("files",))
    sizes = {k: len(v) for k, v in fields.items()}
    if len(set(sizes.values())) > 1:
        raise DataError(f"arrays have different numbers of rows: {sizes}", path=path)
    n = next(iter(sizes.values()), 0)
    first = next(iter(files.values()), Path(str(source.path)))
    origin = Origin(str(first), "index", np.arange(n), total=n)
    keep = np.ones(n, bool)
    bad = faults.of(first, path + ("path",))
    for key, v in fields.items():
        for i in np.flatnonzero(keep & ~finite_rows(v)):
            bad.bad(f"{files[key]}, index {i}", f"array {key!r} holds NaN/Inf", "NaN/Inf value")
            keep[i] = False
    bad.limit(n)
    out = {k: v.astype(np.float32) if np.issubdtype(v.dtype, np.floating) else v.astype(np.int64) for k, v in fields.items()}
    if not keep.all():
        index = np.flatnonzero(keep)
        out, origin = {k: v[index] for k, v in out.items()}, origin.take(index)
    return Table(out, origin=origin)


def image_folder(source: Any, folder: Path, path: SpecPath, faults: Faults | None = None,
                 expect: dict | None = None) -> Table:
    """The folder's image files and class indices; the images are read lazily (``LazyImages``).
    Each file's header is read now (its size, and whether Pillow can open it at all): a file that
    cannot even be opened follows ``data.bad_samples`` here; one that fails to decode later, in a
    worker, follows it mid-epoch."""
    from .images import LazyImages, header_size

    faults = faults or Faults()
    found = sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not found:
        raise DataError(f"{folder} has no class sub-folders", path=path + ("path",), hint="one sub-folder per class")
    classes = [str(c) for c in (expect or {}).get("classes") or found]  # a model's classes keep their indices
    unknown = [d for d in found if d not in classes]
    if unknown:
        raise DataError(f"class folder {unknown[0]!r} in {folder} is not one of the model's classes", path=path + ("path",),
                        hint=f"classes: {', '.join(classes[:10])}")
    files, labels, sizes, seen = [], [], set(), 0
    bad = faults.of(folder, path + ("path",))
    counter = progress.task(f"listing the images of {folder}", None, "images")
    for k, name in enumerate(classes):
        if not (folder / name).is_dir():
            continue  # a class without images here (a val or test folder may lack some)
        for f in sorted((folder / name).iterdir()):
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            seen += 1
            counter.advance()
            try:
                hw = header_size(f)
            except SampleFault as fault:
                bad.bad(fault.where, fault.problem, fault.reason)
                continue
            sizes.add(hw)
            files.append(str(f))
            labels.append(k)
    bad.limit(seen)
    if not files:
        raise DataError(f"no images found under {folder}", path=path + ("path",),
                        hint=f"images end in {', '.join(IMAGE_SUFFIXES)}")
    if source.size is None and len(sizes) > 1:
        raise DataError(f"images have different sizes {[list(s) for s in sorted(sizes)[:3]]} (H, W)", path=path,
                        hint="set `size: [H, W]`")
    size = tuple(source.size) if source.size is not None else next(iter(sizes))
    images = LazyImages(files, source.channels, size, draft=source.draft)
    return Table({"image": images, "target": np.asarray(labels, np.int64)}, classes=classes,
                 origin=Origin(str(folder), "file", names=files, total=seen))


def tokenize(text_: str, how: str, lowercase: bool) -> list[str]:
    text_ = text_.lower() if lowercase else text_
    return list(text_) if how == "char" else text_.split()


def token_windows(ids: np.ndarray, seq_len: int, stride: int | None, name: str) -> dict[str, np.ndarray]:
    """Windows of seq_len + 1 token ids every ``stride`` (default seq_len): ``tokens`` and ``next``."""
    n, stride = seq_len, stride or seq_len
    starts = np.arange(0, max(len(ids) - n - 1, 0) + 1, stride)
    if len(ids) < n + 1:
        raise DataError(f"{name} has {len(ids)} tokens, fewer than seq_len + 1 = {n + 1}", path=("data", "source", "seq_len"))
    windows = np.stack([ids[s: s + n + 1] for s in starts])
    return {"tokens": windows[:, :-1], "next": windows[:, 1:]}


def jsonl(source: Any, file: Path, path: SpecPath, faults: Faults | None = None) -> Table:
    """Token ids per line, and a label per line or (a list) per token; the first labelled line decides which."""
    bad = (faults or Faults()).of(file, path + ("path",))
    seqs, labels, lines, seen = [], [], [], 0
    per_token: bool | None = None
    for i, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        seen += 1
        try:
            ids, label, per_token = token_line(line, source, per_token)
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            bad.bad(f"{file}, line {i}", str(exc), "bad line")
            continue
        seqs.append(ids)
        labels.append(np.asarray(label, np.int64) if per_token else label)
        lines.append(i)
    bad.limit(seen)
    table = Table(ragged={"tokens": seqs}, origin=Origin(str(file), "line", np.asarray(lines, dtype=np.int64), total=seen),
                  classes=list(source.classes) if source.classes else None)
    if source.target is not None and per_token:
        table.ragged["target"] = labels  # padded to max_len with the ignore index (preprocess.py)
    elif source.target is not None:
        y = np.asarray(labels)
        table.fields["target"] = y.astype(np.int64) if np.issubdtype(y.dtype, np.integer) else y.astype(np.float32)
    return table


def token_line(line: str, source: Any, per_token: Optional[bool]) -> tuple[np.ndarray, Any, Optional[bool]]:
    """One JSONL line of token ids: (ids, label, per_token), the first labelled line deciding whether
    labels are per line or per token. Raises ValueError/KeyError/TypeError/OverflowError for a bad line."""
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise TypeError(f"expected a JSON object, got {type(obj).__name__}")
    seq = obj[source.tokens]
    if not isinstance(seq, list) or not all(_is_int_value(t) for t in seq):
        raise TypeError(f"{source.tokens!r} is not a list of integers")
    label = obj[source.target] if source.target is not None else None
    if source.target is not None:
        _check_label(source.target, label, len(seq), per_token)
        per_token = isinstance(label, list) if per_token is None else per_token
    return np.asarray(seq, np.int64), label, per_token


def _is_int_value(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_label(key: str, label, num_tokens: int, per_token: bool | None) -> None:
    """One finite number, or a list of integers as long as the tokens; every line like the first labelled one."""
    if isinstance(label, list):
        if per_token is False:
            raise TypeError(f"{key!r} is a list, but earlier lines hold one label each")
        if not all(_is_int_value(v) for v in label):
            raise TypeError(f"{key!r} is not a list of integer class indices")
        if len(label) != num_tokens:
            raise ValueError(f"{key!r} holds {len(label)} labels for {num_tokens} tokens (one label per token)")
        return
    if per_token:
        raise TypeError(f"{key!r} is {label!r}, but earlier lines hold a list of labels per token")
    if isinstance(label, bool) or not isinstance(label, (int, float)) or not np.isfinite(label):
        raise TypeError(f"{key!r} is {label!r}, not a finite number")
