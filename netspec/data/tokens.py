"""Token corpora, memory-mapped: the ``text`` source's reader.

A corpus is one file, a folder (every file under it, hidden ones and ``.netspec-cache`` aside) or a
glob, read in sorted order. It is tokenized once (``netspec.data.subword``) into a token file in
``.netspec-cache`` beside the data: the ids one after the other, uint16 when the vocabulary has at
most 65,535 tokens, else uint32, plus a JSON file with the vocabulary, the tokenizer and the count.
The file's name is a hash of every corpus file's path, size and modification time and of the
tokenizer's settings (a tokenizer.json by its content), so a later run reuses it and a changed
corpus builds a new one. Building it says how far it is (``netspec.data.progress``).

``TokenWindows`` is a lazy field over the memory-mapped ids: row ``i`` is the window of ``seq_len``
ids starting at ``i * stride`` (``tokens``), or one further (``next``), sliced out when a batch asks
for it, so no window exists before then. It is ``cheap`` (a slice of a memory map): batches are
gathered in the main process, without DataLoader workers, which would only add their pipes.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from ..errors import DataError, SpecPath
from . import progress
from .images import cache_folder
from .lazy import LazyField
from .readers import first_bad_utf8_line
from .table import Table

TOKENS_VERSION = 1
CHUNK_BYTES = 1 << 20  # text is read in pieces of about this size (cut after a newline or before a space)
GLOB_CHARS = "*?["


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 while every id fits (a vocabulary of at most 65,535 tokens), else uint32."""
    return np.dtype(np.uint16 if vocab_size <= 65535 else np.uint32)


# ---- the corpus files ------------------------------------------------------------------------------

def corpus_files(name: str, base: Path, path: SpecPath) -> tuple[list[Path], Path]:
    """The corpus's files in order, and the folder its cache goes beside (a located error when none)."""
    full = Path(name) if Path(name).is_absolute() else base / name
    where = path + ("path",)
    if any(c in name for c in GLOB_CHARS):
        root = _glob_root(full)
        files = sorted(Path(f) for f in glob.glob(str(full), recursive=True) if Path(f).is_file() and not _hidden(Path(f), root))
        if not files:
            raise DataError(f"no files match {full}", path=where, hint="paths and globs are relative to the spec file")
        return files, root
    if full.is_dir():
        files = sorted(f for f in full.rglob("*") if f.is_file() and not _hidden(f, full))
        if not files:
            raise DataError(f"folder {full} holds no files", path=where, hint="put the corpus's text files in it")
        return files, full
    if full.is_file():
        return [full], full.parent
    raise DataError(f"file or folder not found: {full}", path=where,
                    hint="a text file, a folder of text files or a glob (corpus/*.txt), relative to the spec file")


def _glob_root(pattern: Path) -> Path:
    parts = []
    for part in pattern.parts:
        if any(c in part for c in GLOB_CHARS):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _hidden(file: Path, root: Path) -> bool:
    try:
        rel = file.relative_to(root).parts
    except ValueError:
        rel = file.parts
    return any(p.startswith(".") for p in rel)


def read_chunks(files: list[Path], path: SpecPath, counter: Optional[progress.Task] = None) -> Iterator[str]:
    """The corpus text in pieces of about CHUNK_BYTES, cut where no token is split (see ``_cut``);
    undecodable or unreadable files are located errors naming the file."""
    for file in files:
        try:
            with open(file, "rb") as fh:
                carry = b""
                while True:
                    raw = fh.read(CHUNK_BYTES)
                    end = not raw
                    raw = carry + raw
                    if not raw:
                        break
                    cut = len(raw) if end else _cut(raw)
                    raw, carry = raw[:cut], raw[cut:]
                    if not raw:  # no place to cut yet: read on
                        continue
                    try:
                        text = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        raise DataError(f"{file}, line {first_bad_utf8_line(file)}: not UTF-8 text", path=path + ("path",),
                                        hint="save the file as UTF-8") from None
                    if counter is not None:
                        counter.advance(len(raw))
                    yield text
                    if end:
                        break
        except OSError as exc:
            raise DataError(f"cannot read {file}: {exc.strerror or exc}", path=path + ("path",)) from None


def _cut(raw: bytes) -> int:
    """Where to end a piece: after its last newline; else before its last space (byte-level BPE
    starts a word with the space before it); else nowhere yet (0: read on). ASCII bytes never occur
    inside a multi-byte UTF-8 character, so no cut splits one, nor a word."""
    newline = raw.rfind(b"\n")
    if newline >= 0:
        return newline + 1
    return max(raw.rfind(b" "), 0)


# ---- the token file --------------------------------------------------------------------------------

class TokenFile:
    """A corpus's ids on disk (memory-mapped on first use; reopened by path in another process)."""

    def __init__(self, file: Path, meta: dict[str, Any]) -> None:
        self.file, self.meta = file, meta
        self.dtype = np.dtype(meta["dtype"])
        self.count, self.max_id = int(meta["count"]), int(meta["max_id"])
        self.vocab: list[str] = list(meta["vocab"])
        self.tokenizer: Optional[str] = meta.get("tokenizer")
        self._ids: Optional[np.ndarray] = None

    @property
    def ids(self) -> np.ndarray:
        if self._ids is None:
            self._ids = np.memmap(self.file, self.dtype, "r", shape=(self.count,)) if self.count else np.zeros(0, self.dtype)
        return self._ids

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_ids": None}  # a worker maps the file itself


def cache_key(source: Any, files: list[Path], base: Path, path: SpecPath) -> str:
    from .subword import tokenizer_identity

    h = hashlib.sha256(json.dumps([TOKENS_VERSION, tokenizer_identity(source, base, path)], sort_keys=True).encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def token_file(source: Any, files: list[Path], folder: Path, base: Path, path: SpecPath) -> TokenFile:
    """The corpus's token file: the cached one when its key matches, else built now."""
    key = cache_key(source, files, base, path)
    cache = cache_folder(folder)
    target, meta_file = cache / f"tokens-{key}.bin", cache / f"tokens-{key}.json"
    if target.exists() and meta_file.exists():  # built before, completely (the metadata is written last)
        try:
            return TokenFile(target, json.loads(meta_file.read_text(encoding="utf-8")))
        except (ValueError, KeyError):
            pass  # a damaged metadata file: build again
    return build_token_file(source, files, base, path, target, meta_file)


def build_token_file(source: Any, files: list[Path], base: Path, path: SpecPath, target: Path, meta_file: Path) -> TokenFile:
    from .subword import HubTokenizer, fit_tokenizer

    total = sum(f.stat().st_size for f in files)
    name = files[0].name if len(files) == 1 else f"{len(files):,} files"

    def chunks(label: str) -> Iterator[str]:  # one more pass over the corpus, saying how far it is
        counter = progress.task(f"{label} on {name}", total, "bytes")  # here: tokenizers may iterate in another thread
        return _counted(read_chunks(files, path, counter), counter)

    tok = fit_tokenizer(source, chunks, base, path)
    dtype = token_dtype(len(tok.vocab))
    counter = progress.task(f"tokenizing {name} into {target.name}", total, "bytes")
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    count, top = 0, -1
    try:
        with open(tmp, "wb") as out:
            pending: list[str] = []
            for chunk in read_chunks(files, path, counter):
                pending.append(chunk)
                if isinstance(tok, HubTokenizer) and len(pending) < 8:  # the Rust side encodes a batch in parallel
                    continue
                parts = tok.encode_many(pending) if isinstance(tok, HubTokenizer) else [tok.encode(c) for c in pending]
                pending = []
                for ids in parts:
                    if len(ids):
                        out.write(ids.astype(dtype).tobytes())
                        count, top = count + len(ids), max(top, int(ids.max()))
            if pending:
                for ids in tok.encode_many(pending):  # type: ignore[attr-defined]
                    if len(ids):
                        out.write(ids.astype(dtype).tobytes())
                        count, top = count + len(ids), max(top, int(ids.max()))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    counter.done(f"{count:,} tokens, vocabulary of {len(tok.vocab):,} ({dtype.name})")
    meta = {"version": TOKENS_VERSION, "count": count, "dtype": dtype.name, "max_id": max(top, 0), "vocab": tok.vocab,
            "tokenizer": tok.to_json(), "kind": tok.kind, "files": [str(f) for f in files]}
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    return TokenFile(target, meta)


def _counted(chunks: Iterator[str], counter: progress.Task) -> Iterator[str]:
    yield from chunks
    counter.done()


# ---- windows ----------------------------------------------------------------------------------------

class TokenWindows(LazyField):
    """Windows of ``seq_len`` ids every ``stride`` ids of a token file, ``shift`` ids in (``next``: 1)."""

    dtype = np.dtype(np.int64)
    cheap = True

    def __init__(self, corpus: TokenFile, seq_len: int, stride: int, shift: int = 0) -> None:
        self.corpus, self.seq_len, self.stride, self.shift = corpus, seq_len, stride, shift
        self.sample_shape = (seq_len,)
        self.count = (corpus.count - seq_len - 1) // stride + 1 if corpus.count > seq_len else 0
        self.max_id = corpus.max_id
        self._offsets = np.arange(seq_len, dtype=np.int64)

    def __len__(self) -> int:
        return self.count

    def rows(self, index: np.ndarray) -> np.ndarray:
        starts = np.asarray(index, np.int64) * self.stride + self.shift
        out: np.ndarray = self.corpus.ids[starts[:, None] + self._offsets].astype(np.int64)
        return out

    def describe(self, i: int) -> str:
        return f"tokens {i * self.stride + self.shift}…{i * self.stride + self.shift + self.seq_len - 1}"


def text_table(source: Any, base: Path, path: SpecPath) -> Table:
    """The ``text`` source: its corpus tokenized (once) and cut into lazy ``tokens``/``next`` windows."""
    files, folder = corpus_files(source.path, base, path)
    corpus = token_file(source, files, folder, base, path)
    n = source.seq_len
    if corpus.count < n + 1:
        name = files[0].name if len(files) == 1 else f"the corpus ({len(files)} files)"
        raise DataError(f"{name} has {corpus.count} tokens, fewer than seq_len + 1 = {n + 1}", path=path + ("seq_len",))
    stride = source.stride or n
    fields = {"tokens": TokenWindows(corpus, n, stride, 0), "next": TokenWindows(corpus, n, stride, 1)}
    return Table(fields, vocab=corpus.vocab, tokenizer=corpus.tokenizer)  # type: ignore[arg-type]
