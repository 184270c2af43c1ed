"""The ``text`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from ..strict import PositiveInt
from .base import SOURCES, Source

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.table import Table
    from ..errors import SpecPath


@SOURCES.register
class Text(Source):
    """A text corpus for language modelling (a file, a folder of files or a glob): tokenized once into a
    memory-mapped token file cached beside the data, cut into windows of seq_len + 1 tokens read on demand."""
    FIELDS: ClassVar[str] = "`tokens` (seq_len,) int64 windows; `next`: the same window shifted by one token"
    EXAMPLE: ClassVar[str] = "{type: text, path: corpus.txt, tokenize: char, seq_len: 128}"
    type: Literal["text"]
    path: str = Field(description="The corpus (UTF-8): a file, a folder (every file under it, in sorted order) or a glob "
                                  "such as `books/*.txt`, relative to the spec file.")
    tokenize: Literal["char", "whitespace", "bpe", "wordpiece"] | None = Field(
        None, description="char (the default): a token per character; whitespace: a token per whitespace-separated "
                          "word; bpe (byte-level, GPT-2 style) or wordpiece (BERT style): a subword tokenizer trained on "
                          "the corpus with Hugging Face `tokenizers` (the `text` extra), locally.")
    tokenizer: str | None = Field(None, description="A Hugging Face `tokenizer.json` file to use instead of `tokenize`.")
    vocab_size: PositiveInt | None = Field(
        None, description="bpe/wordpiece: the vocabulary size to train, <pad> and <unk> included (default 4096).")
    min_frequency: PositiveInt | None = Field(
        None, description="bpe/wordpiece: how often a pair or piece must occur to be learned (default 2).")
    seq_len: PositiveInt = Field(64, description="Tokens per training window (`tokens`; `next` is shifted by one).")
    stride: PositiveInt | None = Field(None, description="Step between windows (default: seq_len).")
    lowercase: bool = Field(False, description="Lowercase the text before tokenizing.")

    @model_validator(mode="after")
    def _one_tokenizer(self) -> Text:
        if self.tokenizer is not None and (self.tokenize is not None or self.lowercase):
            raise ValueError("a tokenizer file decides the tokenization: leave out tokenize and lowercase")
        if self.kind not in ("bpe", "wordpiece") and (self.vocab_size is not None or self.min_frequency is not None):
            raise ValueError("vocab_size and min_frequency apply to tokenize: bpe or wordpiece")
        return self

    @property
    def kind(self) -> str:
        """char, whitespace, bpe, wordpiece, or file (a tokenizer.json)."""
        return "file" if self.tokenizer is not None else self.tokenize or "char"

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.tokens import text_table

        return text_table(self, base, path)
