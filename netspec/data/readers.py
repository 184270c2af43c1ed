"""File sources -> Table: CSV, Parquet, .npz/.npy arrays, image folders, text, JSONL.

Every problem is a DataError at a spec path (``data.source.path`` for a missing file,
``data.source.target`` for a missing column, ...), so the CLI shows file:line:col.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..diagnostics import did_you_mean
from ..errors import DataError, SpecPath
from ..spec import data as ds
from .table import Table

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def read(source, base: Path, classify: bool, path: SpecPath) -> Table:
    if isinstance(source, (ds.Csv, ds.Parquet)):
        return tabular(source, _file(base, source.path, path), classify, path)
    if isinstance(source, ds.Arrays):
        return arrays(source, base, path)
    if isinstance(source, ds.ImageFolder):
        return image_folder(source, _file(base, source.path, path, folder=True), path)
    if isinstance(source, ds.Text):
        return text(source, _file(base, source.path, path))
    return jsonl(source, _file(base, source.path, path), path)


def _file(base: Path, name: str, path: SpecPath, key: str = "path", folder: bool = False) -> Path:
    full = Path(name) if Path(name).is_absolute() else base / name
    if not (full.is_dir() if folder else full.is_file()):
        raise DataError(f"{'folder' if folder else 'file'} not found: {full}", path=path + (key,),
                        hint="paths are relative to the spec file")
    return full


# ---- tabular ---------------------------------------------------------------------------------------

def read_columns(source, file: Path, path: SpecPath) -> dict[str, np.ndarray]:
    """Column name -> array of strings (CSV) or values (Parquet)."""
    if isinstance(source, ds.Parquet):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise DataError("reading Parquet needs pyarrow", path=path + ("type",),
                            hint="pip install 'netspec[parquet]'") from None
        try:
            table = pq.read_table(file)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds
            raise DataError(f"cannot read {file}: {exc}", path=path + ("path",)) from None
        return {k: np.asarray(v) for k, v in table.to_pydict().items()}
    with open(file, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter=source.delimiter))
    if not rows:
        raise DataError(f"{file} is empty", path=path + ("path",))
    header, body = rows[0], rows[1:]
    bad = next((i for i, r in enumerate(body) if len(r) != len(header)), None)
    if bad is not None:
        raise DataError(f"{file}: row {bad + 2} has {len(body[bad])} values, the header {len(header)}", path=path + ("path",))
    cols = list(zip(*body)) if body else [()] * len(header)
    return {name: np.asarray(col, dtype=object) for name, col in zip(header, cols)}


def tabular(source, file: Path, classify: bool, path: SpecPath) -> Table:
    cols = read_columns(source, file, path)
    targets = [source.target] if isinstance(source.target, str) else list(source.target or [])
    for key, names in (("target", targets), ("features", source.features or []), ("categorical", source.categorical)):
        for i, name in enumerate(names):
            if name not in cols:
                where = path + (key,) + ((i,) if key != "target" or isinstance(source.target, list) else ())
                raise DataError(f"column {name!r} not found in {file.name}", path=where,
                                hint=did_you_mean(name, cols) or f"columns: {', '.join(cols)}")
    features = source.features or [c for c in cols if c not in targets]
    numeric = [c for c in features if c not in source.categorical]
    x = np.zeros((len(next(iter(cols.values()))), len(numeric)), np.float32)
    for j, name in enumerate(numeric):
        x[:, j] = _numbers(cols[name], name, path + ("features",))
    table = Table({"features": x}, categorical={c: cols[c].astype(str) for c in source.categorical}, feature_names=numeric)
    if targets:
        table.fields["target"], table.classes = _target(cols, targets, classify, source.classes, path)
    return table


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

def arrays(source: ds.Arrays, base: Path, path: SpecPath) -> Table:
    fields: dict[str, np.ndarray] = {}
    if source.path is not None:
        file = _file(base, source.path, path)
        try:
            with np.load(file, allow_pickle=False) as npz:
                fields = {k: npz[k] for k in npz.files}
        except (ValueError, OSError) as exc:
            raise DataError(f"cannot read {file.name}: {exc}", path=path + ("path",)) from None
    for name, fname in source.files.items():
        fields[name] = np.load(_file(base, fname, path + ("files",), name), allow_pickle=False)
    for key, new in source.rename.items():
        if key not in fields:
            raise DataError(f"array {key!r} not found", path=path + ("rename", key), hint=f"arrays: {', '.join(fields)}")
        fields[new] = fields.pop(key)
    sizes = {k: len(v) for k, v in fields.items()}
    if len(set(sizes.values())) > 1:
        raise DataError(f"arrays have different numbers of rows: {sizes}", path=path)
    out = {k: v.astype(np.float32) if np.issubdtype(v.dtype, np.floating) else v.astype(np.int64) for k, v in fields.items()}
    return Table(out)


def image_folder(source: ds.ImageFolder, folder: Path, path: SpecPath) -> Table:
    from PIL import Image

    classes = sorted(d.name for d in folder.iterdir() if d.is_dir())
    if not classes:
        raise DataError(f"{folder} has no class sub-folders", path=path + ("path",), hint="one sub-folder per class")
    images, labels = [], []
    for k, name in enumerate(classes):
        for f in sorted((folder / name).iterdir()):
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(f) as im:
                    im = im.convert("L" if source.channels == 1 else "RGB")
                    if source.size is not None:
                        im = im.resize((source.size[1], source.size[0]), Image.BILINEAR)
                    arr = np.asarray(im, dtype=np.float32) / 255.0
            except OSError as exc:
                raise DataError(f"cannot read image {f}: {exc}", path=path + ("path",)) from None
            images.append(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))
            labels.append(k)
    shapes = {a.shape for a in images}
    if len(shapes) > 1:
        raise DataError(f"images have different sizes {sorted(shapes)[:3]}", path=path, hint="set `size: [H, W]`")
    if not images:
        raise DataError(f"no images found under {folder}", path=path + ("path",))
    return Table({"image": np.stack(images), "target": np.asarray(labels, np.int64)}, classes=classes)


def tokenize(text_: str, how: str, lowercase: bool) -> list[str]:
    text_ = text_.lower() if lowercase else text_
    return list(text_) if how == "char" else text_.split()


def text(source: ds.Text, file: Path) -> Table:
    tokens = tokenize(file.read_text(encoding="utf-8"), source.tokenize, source.lowercase)
    vocab = ["<pad>", "<unk>"] + sorted(set(tokens))
    index = {t: i for i, t in enumerate(vocab)}
    ids = np.fromiter((index[t] for t in tokens), np.int64, len(tokens))
    return Table(token_windows(ids, source.seq_len, source.stride, file.name), vocab=vocab)


def token_windows(ids: np.ndarray, seq_len: int, stride: int | None, name: str) -> dict[str, np.ndarray]:
    """Windows of seq_len + 1 token ids every ``stride`` (default seq_len): ``tokens`` and ``next``."""
    n, stride = seq_len, stride or seq_len
    starts = np.arange(0, max(len(ids) - n - 1, 0) + 1, stride)
    if len(ids) < n + 1:
        raise DataError(f"{name} has {len(ids)} tokens, fewer than seq_len + 1 = {n + 1}", path=("data", "source", "seq_len"))
    windows = np.stack([ids[s: s + n + 1] for s in starts])
    return {"tokens": windows[:, :-1], "next": windows[:, 1:]}


def jsonl(source: ds.Jsonl, file: Path, path: SpecPath) -> Table:
    seqs, labels = [], []
    for i, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            seq = obj[source.tokens]
            if not isinstance(seq, list) or not all(isinstance(t, int) for t in seq):
                raise TypeError(f"{source.tokens!r} is not a list of integers")
            seqs.append(np.asarray(seq, np.int64))
            if source.target is not None:
                labels.append(obj[source.target])
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{file.name} line {i}: {exc}", path=path + ("path",)) from None
    table = Table(ragged={"tokens": seqs})
    if source.target is not None:
        y = np.asarray(labels)
        table.fields["target"] = y.astype(np.int64) if np.issubdtype(y.dtype, np.integer) else y.astype(np.float32)
    return table
