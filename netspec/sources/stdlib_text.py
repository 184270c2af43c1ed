"""The ``stdlib_text`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from ..strict import PositiveInt
from .base import SOURCES, Source

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.table import Table
    from ..errors import SpecPath

#: modules whose documentation strings make the default corpus (prose-rich, present in every CPython)
STDLIB_MODULES = ["argparse", "collections", "difflib", "doctest", "functools", "inspect", "json", "logging",
                  "pathlib", "statistics", "subprocess", "textwrap", "typing", "unittest"]


@SOURCES.register
class StdlibText(Source):
    """Python's standard library as a text corpus: the documentation strings (or the source) of the listed
    modules, read from this interpreter's own files at run time (no download), tokenized like `text`."""
    FIELDS: ClassVar[str] = "`tokens` (seq_len,) int64 windows; `next`: the same window shifted by one token"
    EXAMPLE: ClassVar[str] = "{type: stdlib_text, content: docstrings, seq_len: 128}"
    type: Literal["stdlib_text"]
    modules: list[str] = Field(default=list(STDLIB_MODULES), min_length=1,
                               description="Standard-library modules or packages (json, email, ...), in this order.")
    content: Literal["docstrings", "source"] = Field("docstrings", description="Documentation strings (prose) or the whole source files.")
    max_chars: PositiveInt | None = Field(300_000, description="Keep the first this many characters of the corpus.")
    tokenize: Literal["char", "whitespace"] = Field(
        "char", description="char: a token per character; whitespace: a token per whitespace-separated word.")
    vocab: Literal["ascii", "corpus"] = Field(
        "ascii", description="ascii: a fixed vocabulary (<pad>, <unk>, newline, the 95 printable ASCII characters) that is the "
                             "same on every Python version (char only); corpus: the tokens that occur.")
    max_vocab: PositiveInt | None = Field(None, description="corpus: keep the most frequent tokens only (the rest is <unk>).")
    seq_len: PositiveInt = Field(64, description="Tokens per training window (`tokens`; `next` is shifted by one).")
    stride: PositiveInt | None = Field(None, description="Step between windows (default: seq_len, so windows do not overlap).")
    lowercase: bool = Field(False, description="Lowercase the text before tokenizing.")

    @model_validator(mode="after")
    def _vocab(self) -> StdlibText:
        if self.vocab == "ascii" and self.tokenize != "char":
            raise ValueError("vocab ascii is a character vocabulary: use tokenize: char, or vocab: corpus for words")
        if self.max_vocab is not None and self.vocab != "corpus":
            raise ValueError("max_vocab applies to vocab: corpus")
        return self

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.corpus import stdlib_table

        return stdlib_table(self)
