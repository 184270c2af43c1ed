"""The tokenizers of the ``text`` source: characters, words, or Hugging Face ``tokenizers`` subwords.

``fit_tokenizer(source, chunks, path)`` returns a ``TextTokenizer`` for the corpus: ``char`` and
``whitespace`` learn their vocabulary in one pass (``<pad>``, ``<unk>``, then the tokens that occur
in sorted order, as before); ``bpe`` (byte-level, GPT-2 style: lossless, no unknown tokens) and
``wordpiece`` (BERT style) are trained on the corpus with the ``tokenizers`` library, locally;
``tokenizer: FILE`` loads a user's ``tokenizer.json``. ``encode(text)`` maps a chunk of text to
int64 ids; ``to_json()`` is the Hugging Face tokenizer's JSON (``None`` for char/whitespace), the
text that travels in the checkpoint, the run directory and the ONNX metadata.

``tokenizers`` is the optional ``text`` extra: a spec that needs it without it installed is a
located error naming what to install.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import numpy as np

from ..distribution import install_hint
from ..errors import DataError, SpecPath

SPECIALS = ["<pad>", "<unk>"]
DEFAULT_VOCAB_SIZE, DEFAULT_MIN_FREQUENCY = 4096, 2
Chunks = Callable[[str], Iterable[str]]  # a fresh pass over the corpus text, chunk by chunk (its progress label)


def hub() -> Any:
    """The ``tokenizers`` module (ImportError when the ``text`` extra is missing)."""
    import tokenizers

    return tokenizers


def need_hub(path: SpecPath, what: str) -> Any:
    try:
        return hub()
    except ImportError:
        raise DataError(f"{what} needs the 'tokenizers' package, which is not installed", path=path,
                        hint=install_hint("text")) from None


class TextTokenizer:
    """Text -> int64 ids with a vocabulary (token strings in id order)."""

    kind: str
    vocab: list[str]

    def encode(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def to_json(self) -> Optional[str]:
        return None


class CharTokenizer(TextTokenizer):
    kind = "char"

    def __init__(self, vocab: list[str], lowercase: bool) -> None:
        self.vocab, self.lowercase = list(vocab), lowercase
        self.points = np.asarray([ord(c) for c in self.vocab[len(SPECIALS):]], np.uint32)  # sorted code points

    def encode(self, text: str) -> np.ndarray:
        text = text.lower() if self.lowercase else text
        cps = np.frombuffer(text.encode("utf-32-le"), np.uint32)
        ids = np.searchsorted(self.points, cps)
        known = (ids < len(self.points)) & (self.points[np.minimum(ids, len(self.points) - 1)] == cps)
        return np.where(known, ids + len(SPECIALS), SPECIALS.index("<unk>")).astype(np.int64)


class WordTokenizer(TextTokenizer):
    kind = "whitespace"

    def __init__(self, vocab: list[str], lowercase: bool) -> None:
        self.vocab, self.lowercase = list(vocab), lowercase
        self.index = {t: i for i, t in enumerate(self.vocab)}

    def encode(self, text: str) -> np.ndarray:
        words = (text.lower() if self.lowercase else text).split()
        unk = SPECIALS.index("<unk>")
        return np.fromiter((self.index.get(w, unk) for w in words), np.int64, len(words))


class HubTokenizer(TextTokenizer):
    """A Hugging Face ``tokenizers.Tokenizer`` (trained here, or a user's tokenizer.json)."""

    def __init__(self, tokenizer: Any, kind: str) -> None:
        self.tokenizer, self.kind = tokenizer, kind
        size = tokenizer.get_vocab_size(with_added_tokens=True)
        self.vocab = [tokenizer.id_to_token(i) or f"<id {i}>" for i in range(size)]

    def encode(self, text: str) -> np.ndarray:
        return np.asarray(self.tokenizer.encode(text, add_special_tokens=False).ids, np.int64)

    def encode_many(self, texts: list[str]) -> list[np.ndarray]:
        return [np.asarray(e.ids, np.int64) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def to_json(self) -> str:
        return str(self.tokenizer.to_str())


def tokenizer_identity(source: Any, base: Path, path: SpecPath) -> dict[str, Any]:
    """What the token ids depend on besides the corpus (part of the token file's cache key)."""
    if source.tokenizer is not None:
        file = tokenizer_file(source, base, path)
        return {"tokenizer": hashlib.sha256(file.read_bytes()).hexdigest()}
    kind = source.kind
    out: dict[str, Any] = {"tokenize": kind, "lowercase": source.lowercase}
    if kind in ("bpe", "wordpiece"):
        out.update(vocab_size=vocab_size(source), min_frequency=min_frequency(source),
                   library=getattr(need_hub(path + ("tokenize",), f"tokenize: {kind}"), "__version__", ""))
    return out


def vocab_size(source: Any) -> int:
    return int(source.vocab_size or DEFAULT_VOCAB_SIZE)


def min_frequency(source: Any) -> int:
    return int(source.min_frequency or DEFAULT_MIN_FREQUENCY)


def tokenizer_file(source: Any, base: Path, path: SpecPath) -> Path:
    file = Path(source.tokenizer) if Path(source.tokenizer).is_absolute() else base / source.tokenizer
    if not file.is_file():
        raise DataError(f"tokenizer file not found: {file}", path=path + ("tokenizer",),
                        hint="a tokenizer.json saved by Hugging Face tokenizers (Tokenizer.save); paths are relative to "
                             "the spec file")
    return file


def load_tokenizer_file(source: Any, base: Path, path: SpecPath) -> HubTokenizer:
    file = tokenizer_file(source, base, path)
    hf = need_hub(path + ("tokenizer",), "a tokenizer.json file")
    try:
        tok = hf.Tokenizer.from_file(str(file))
    except Exception as exc:  # noqa: BLE001 - tokenizers raises plain Exceptions for bad files
        raise DataError(f"{file} is not a tokenizer file tokenizers can read: {str(exc)[:200]}", path=path + ("tokenizer",),
                        hint="a tokenizer.json saved by Hugging Face tokenizers (Tokenizer.save)") from None
    return HubTokenizer(tok, _model_type(tok.to_str()))


def from_json(text: str) -> HubTokenizer:
    """A saved tokenizer (the checkpoint's or the ONNX file's JSON)."""
    return HubTokenizer(hub().Tokenizer.from_str(text), _model_type(text))


def _model_type(text: str) -> str:
    try:
        return str(json.loads(text)["model"]["type"]).lower()
    except (ValueError, KeyError, TypeError):
        return "tokenizer"


def fit_tokenizer(source: Any, chunks: Chunks, base: Path, path: SpecPath) -> TextTokenizer:
    """The tokenizer of the corpus (``chunks(label)`` reads it once more per call)."""
    if source.tokenizer is not None:
        return load_tokenizer_file(source, base, path)
    kind = source.kind
    if kind in ("char", "whitespace"):
        seen: set[str] = set()
        for chunk in chunks(f"collecting the {kind} vocabulary"):
            chunk = chunk.lower() if source.lowercase else chunk
            seen.update(chunk if kind == "char" else chunk.split())
        vocab = SPECIALS + sorted(seen)
        return CharTokenizer(vocab, source.lowercase) if kind == "char" else WordTokenizer(vocab, source.lowercase)
    hf = need_hub(path + ("tokenize",), f"tokenize: {kind}")
    tok = _trainable(hf, kind, source.lowercase)
    size = vocab_size(source)
    trainer = (hf.trainers.BpeTrainer if kind == "bpe" else hf.trainers.WordPieceTrainer)(
        vocab_size=size, min_frequency=min_frequency(source), special_tokens=list(SPECIALS), show_progress=False,
        **({"initial_alphabet": hf.pre_tokenizers.ByteLevel.alphabet()} if kind == "bpe" else {}))
    tok.train_from_iterator(chunks(f"training a {kind} tokenizer (vocab_size {size})"), trainer)
    return HubTokenizer(tok, kind)


def _trainable(hf: Any, kind: str, lowercase: bool) -> Any:
    """An untrained byte-level BPE (GPT-2's pre-tokenization and decoder) or WordPiece (BERT's)."""
    if kind == "bpe":
        tok = hf.Tokenizer(hf.models.BPE())
        tok.pre_tokenizer = hf.pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = hf.decoders.ByteLevel()
    else:
        tok = hf.Tokenizer(hf.models.WordPiece(unk_token="<unk>"))
        tok.pre_tokenizer = hf.pre_tokenizers.BertPreTokenizer()
        tok.decoder = hf.decoders.WordPiece()
    if lowercase:
        tok.normalizer = hf.normalizers.Lowercase()
    return tok
