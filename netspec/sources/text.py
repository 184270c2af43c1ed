"""The ``text`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from ..strict import PositiveInt
from .base import SOURCES, Source

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.table import Table
    from ..errors import SpecPath


@SOURCES.register
class Text(Source):
    """A text file for language modelling: tokenized, cut into windows of seq_len + 1 tokens."""
    FIELDS: ClassVar[str] = "`tokens` (seq_len,) int64 windows; `next`: the same window shifted by one token"
    EXAMPLE: ClassVar[str] = "{type: text, path: corpus.txt, tokenize: char, seq_len: 128}"
    type: Literal["text"]
    path: str = Field(description="The text file (UTF-8), relative to the spec file.")
    tokenize: Literal["char", "whitespace"] = Field(
        "char", description="char: a token per character; whitespace: a token per whitespace-separated word.")
    seq_len: PositiveInt = Field(64, description="Tokens per training window (`tokens`; `next` is shifted by one).")
    stride: PositiveInt | None = Field(None, description="Step between windows (default: seq_len).")
    lowercase: bool = Field(False, description="Lowercase the text before tokenizing.")

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.readers import locate, reading, text

        with reading(self, base, path):
            return text(self, locate(base, self.path, path))
