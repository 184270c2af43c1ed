"""The ``jsonl`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from .base import SOURCES, Source

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.table import Table
    from ..errors import SpecPath


@SOURCES.register
class Jsonl(Source):
    """One JSON object per line with a list of token ids (and optionally a label, or a label per token)."""
    FIELDS: ClassVar[str] = ("`tokens` (max_len,) int64, padded; `lengths`: the true lengths; `target` when "
                             "`target:` names a key: a label, or (max_len,) labels per token padded with the ignore index")
    EXAMPLE: ClassVar[str] = "{type: jsonl, path: reviews.jsonl, tokens: ids, target: label}"
    type: Literal["jsonl"]
    path: str = Field(description="The .jsonl file, relative to the spec file.")
    tokens: str = Field("tokens", description="The key holding the token ids.")
    target: str | None = Field(None, description="The key holding a label (class index or number), or a list of class "
                                                    "indices, one per token (tagging; padded with the loss's ignore_index).")
    classes: list[str] | None = Field(None, description="Names of the class indices, in index order (reports, predictions).")

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.readers import jsonl, locate, reading

        with reading(self, base, path):
            return jsonl(self, locate(base, self.path, path), path, faults)
