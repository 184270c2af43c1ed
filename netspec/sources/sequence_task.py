"""The ``sequence_task`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from ..strict import PositiveInt, Seed
from .base import SOURCES, Source

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.table import Table
    from ..errors import SpecPath


@SOURCES.register
class SequenceTask(Source):
    """Generated seq2seq pairs over the digits 0-9: reverse, sort or copy a random digit string."""
    FIELDS: ClassVar[str] = ("`src` (max_len,) digits padded with <pad>, `src_lengths`, `tgt_in` (<sos> y1 … y_n, "
                             "padded) and `tgt_out` (y1 … y_n <eos>, padded), both (max_len + 1,)")
    EXAMPLE: ClassVar[str] = "{type: sequence_task, task: reverse, num_samples: 5000, max_len: 10}"
    type: Literal["sequence_task"]
    task: Literal["reverse", "sort", "copy"] = Field("reverse", description="What the target does to the source digits.")
    num_samples: PositiveInt = Field(4000, description="Number of source/target pairs.")
    min_len: PositiveInt = Field(3, description="Shortest source string.")
    max_len: PositiveInt = Field(10, description="Longest source string (the padded width).")
    seed: Seed = Field(0, description="Seed of the generator: the same seed gives the same data.")

    @model_validator(mode="after")
    def _lengths(self) -> SequenceTask:
        if self.min_len > self.max_len:
            raise ValueError(f"min_len {self.min_len} is larger than max_len {self.max_len}")
        return self

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.synthetic import sequence_table

        return sequence_table(self)
