"""The ``jsonl`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, Union

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
    stream: Union[Literal["auto"], bool] = Field(
        "auto", description="Read the file in batches of lines into a memory-mapped token cache in `.netspec-cache` "
                            "beside it, and each batch's sequences from that cache, instead of reading it whole (auto: "
                            "when the file is over 64 MiB or over 1/32 of the free memory).")

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.columnar import wants_stream
        from ..data.jsonl_stream import streamed_jsonl
        from ..data.readers import jsonl, locate, reading

        file = locate(base, self.path, path)
        with reading(self, base, path):
            if wants_stream(self.stream, file, needs_pyarrow=False):
                return streamed_jsonl(self, file, path, faults)
            return jsonl(self, file, path, faults)
