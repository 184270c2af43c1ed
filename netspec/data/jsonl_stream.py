"""JSON lines of token ids larger than memory: read line batch by line batch into a ragged cache.

``streamed_jsonl`` is ``readers.jsonl`` for a ``jsonl`` source read with ``stream``: the file is read
in batches of lines (each parsed and checked exactly as the in-memory reader does: a bad line follows
``data.bad_samples``, named by file and line), and the usable lines are appended to a cache in
``.netspec-cache`` beside the file (``netspec.data.columnar``'s key and atomic build): every line's
token ids one after the other (int64), the offset where each line starts, its line number, and its
label (one per line, or one per token after the same offsets).

The table's ``tokens`` (and per-token ``target``) are then ``RaggedRows``: lazy fields of variable
length. ``Preprocessor.fit`` takes the padded length (``max_len``) from a streaming pass over the
train split's lengths (``train_max_len``), and ``transform`` wraps the rows in ``PaddedRows`` and
``PaddedLengths``, which pad or truncate batch by batch exactly as ``Preprocessor._pad`` does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..errors import SpecPath
from . import progress
from .faults import Faults, Origin
from .lazy import LazyField, Selected
from .table import Table

LINES_PER_BATCH = 65536


class RaggedRows(LazyField):
    """Variable-length integer rows of a ragged cache (``values`` after ``offsets``); ``rows`` gives
    them padded with zeros to the longest (``sample_shape``); the padding ``PaddedRows`` applies
    is the preprocessing's."""

    cheap = True
    streamed = True

    def __init__(self, folder: Path, values: str, count: int, longest: int, max_id: int, origin: Origin) -> None:
        self.folder, self.values, self.count, self.max_id, self.origin = Path(folder), values, count, max_id, origin
        self.dtype, self.sample_shape = np.dtype(np.int64), (longest,)

    def __len__(self) -> int:
        return self.count

    def spans(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Start and end (into the values) of each row at ``index``."""
        if not self.count:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        offsets = np.memmap(self.folder / "offsets.i64", np.int64, "r", shape=(self.count + 1,))
        index = np.asarray(index, np.int64)
        start, end = np.array(offsets[index]), np.array(offsets[index + 1])
        del offsets
        return start, end

    def ragged(self, index: np.ndarray) -> list[np.ndarray]:
        """The rows at ``index``, each as long as it is."""
        start, end = self.spans(index)
        total = int(os.path.getsize(self.folder / self.values) // 8)
        if not total:
            return [np.zeros(0, np.int64) for _ in start]
        values = np.memmap(self.folder / self.values, np.int64, "r", shape=(total,))
        out = [np.array(values[s:e]) for s, e in zip(start, end)]
        del values
        return out

    def rows(self, index: np.ndarray) -> np.ndarray:
        return pad(self.ragged(index), self.sample_shape[0], 0, "right")[0]

    def describe(self, i: int) -> str:
        return self.origin.describe(i)


def ragged_of(value: Any) -> tuple[Optional[RaggedRows], Optional[np.ndarray]]:
    """The ragged cache rows behind ``value`` and the split's index into them (None: all rows)."""
    if isinstance(value, RaggedRows):
        return value, None
    if isinstance(value, Selected) and isinstance(value.base, RaggedRows):
        return value.base, value.index
    return None, None


def pad(seqs: list[np.ndarray], n: int, value: int, truncate: str) -> tuple[np.ndarray, np.ndarray]:
    """``Preprocessor._pad``: rows padded with ``value`` or truncated to ``n``, and their lengths (at least 1)."""
    out = np.full((len(seqs), n), value, np.int64)
    lengths = np.zeros(len(seqs), np.int64)
    for i, s in enumerate(seqs):
        s = s[:n] if truncate == "right" else s[-n:]
        out[i, : len(s)] = s
        lengths[i] = max(len(s), 1)
    return out, lengths


class PaddedRows(LazyField):
    """A split's ragged rows padded (or truncated) to the fitted ``max_len``, batch by batch."""

    cheap = True
    streamed = True

    def __init__(self, rows: Any, max_len: int, value: int, truncate: str, lengths: bool = False) -> None:
        self.base, self.index = ragged_of(rows)
        self.max_len, self.value, self.truncate, self.lengths = max_len, value, truncate, lengths
        self.max_id = max(self.base.max_id, value) if self.base is not None else value
        self.dtype, self.sample_shape = np.dtype(np.int64), (() if lengths else (max_len,))

    def __len__(self) -> int:
        return len(self.index) if self.index is not None else len(self.base)  # type: ignore[arg-type]

    def rows(self, index: np.ndarray) -> np.ndarray:
        at = self.index[index] if self.index is not None else np.asarray(index, np.int64)
        padded, lengths = pad(self.base.ragged(at), self.max_len, self.value, self.truncate)  # type: ignore[union-attr]
        return lengths if self.lengths else padded

    def describe(self, i: int) -> str:
        return self.base.describe(int(self.index[i]) if self.index is not None else i)  # type: ignore[union-attr]


def train_max_len(rows: Any, chunk: int = LINES_PER_BATCH) -> int:
    """The longest row of a split of a ragged cache, in one pass over its offsets."""
    base, index = ragged_of(rows)
    n, longest = len(rows), 0
    for start in range(0, n, chunk):
        at = index[start:start + chunk] if index is not None else np.arange(start, min(start + chunk, n))
        s, e = base.spans(at)  # type: ignore[union-attr]
        longest = max(longest, int((e - s).max(initial=0)))
    return longest


def streamed_jsonl(source: Any, file: Path, path: SpecPath, faults: Optional[Faults] = None) -> Table:
    """``readers.jsonl`` for a file read in batches of lines (the module docstring)."""
    from .columnar import cached

    faults = faults or Faults()
    layout = {"tokens": source.tokens, "target": source.target}
    folder, meta = cached(source, file, layout, path, faults, _build)
    n = meta["count"]
    lines = np.memmap(folder / "lines.i64", np.int64, "r", shape=(n,)) if n else np.zeros(0, np.int64)
    origin = Origin(str(file), "line", lines, total=meta["total"])
    tokens = RaggedRows(folder, "tokens.i64", n, meta["longest"], meta["max_token"], origin)
    table = Table({"tokens": tokens}, origin=origin, classes=list(source.classes) if source.classes else None)
    if source.target is not None and meta["per_token"]:
        table.fields["target"] = RaggedRows(folder, "labels.i64", n, meta["longest"], meta["max_label"], origin)
    elif source.target is not None:
        dtype = np.int64 if meta["int_labels"] else np.float32
        y = np.memmap(folder / "target.bin", dtype, "r", shape=(n,)) if n else np.zeros(0, dtype)
        table.fields["target"] = y
    return table


def _build(source: Any, file: Path, layout: dict, path: SpecPath, faults: Faults, folder: Path,
           reject: Any) -> dict:
    """One pass over the file's lines; returns the cache's meta (without the faults)."""
    from .readers import token_line

    names = ["tokens.i64", "offsets.i64", "lines.i64", "labels.i64" if source.target is not None else None]
    out = {name: open(folder / name, "wb") for name in names if name}
    labels: list[Any] = []  # one label per line: written at the end in one dtype (int64, or float32 if any is real)
    per_token: Optional[bool] = None
    count = seen = offset = longest = max_token = max_label = 0
    counter = progress.task(f"reading {file.name} in batches of lines into the token cache", None, "lines")
    out["offsets.i64"].write(np.zeros(1, np.int64).tobytes())
    try:
        with open(file, encoding="utf-8") as fh:
            batch: list[np.ndarray] = []
            tags: list[np.ndarray] = []
            numbers: list[int] = []
            for i, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                seen += 1
                try:
                    ids, label, per_token = token_line(line, source, per_token)
                except (ValueError, KeyError, TypeError, OverflowError) as exc:
                    reject(f"{file}, line {i}", str(exc), "bad line")
                    continue
                batch.append(ids)
                numbers.append(i)
                if per_token:
                    tags.append(np.asarray(label, np.int64))
                elif source.target is not None:
                    labels.append(label)
                if len(batch) >= LINES_PER_BATCH:
                    offset, longest, max_token, max_label = _flush(out, batch, tags, numbers, offset, longest,
                                                                   max_token, max_label)
                    count += len(numbers)
                    counter.advance(len(numbers))
                    batch, tags, numbers = [], [], []
            offset, longest, max_token, max_label = _flush(out, batch, tags, numbers, offset, longest, max_token,
                                                           max_label)
            count += len(numbers)
    finally:
        for fh_out in out.values():
            fh_out.close()
        counter.done()
    int_labels = all(isinstance(v, int) for v in labels)
    if source.target is not None and not per_token:
        y = np.asarray(labels, np.int64 if int_labels else np.float64).astype(np.int64 if int_labels else np.float32)
        (folder / "target.bin").write_bytes(y.tobytes())
    return {"count": count, "total": seen, "longest": longest, "max_token": max_token, "max_label": max_label,
            "per_token": bool(per_token), "int_labels": int_labels}


def _flush(out: dict, batch: list, tags: list, numbers: list, offset: int, longest: int, max_token: int,
           max_label: int) -> tuple[int, int, int, int]:
    if not batch:
        return offset, longest, max_token, max_label
    sizes = np.asarray([len(s) for s in batch], np.int64)
    flat = np.concatenate(batch) if sizes.sum() else np.zeros(0, np.int64)
    out["tokens.i64"].write(flat.tobytes())
    out["offsets.i64"].write((offset + np.cumsum(sizes)).astype(np.int64).tobytes())
    out["lines.i64"].write(np.asarray(numbers, np.int64).tobytes())
    if tags:
        labels = np.concatenate(tags) if sizes.sum() else np.zeros(0, np.int64)
        out["labels.i64"].write(labels.tobytes())
        max_label = max(max_label, int(labels.max(initial=0)))
    return (offset + int(sizes.sum()), max(longest, int(sizes.max(initial=0))), max(max_token, int(flat.max(initial=0))),
            max_label)
