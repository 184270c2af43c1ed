"""The ``csv`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from .base import SOURCES
from .tabular import Streamable

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.faults import Faults, Origin
    from ..errors import SpecPath


@SOURCES.register
class Csv(Streamable):
    """A CSV file with a header row."""
    FIELDS: ClassVar[str] = ("`features` (F,) float32, categorical columns one-hot encoded; `target` (a class index, "
                             "or the number(s) of a regression)")
    EXAMPLE: ClassVar[str] = "{type: csv, path: houses.csv, target: price, categorical: [city]}"
    type: Literal["csv"]
    delimiter: str = Field(",", description="The column separator (one character, as Python's csv module takes it).")

    def rows(self, file: Path, path: SpecPath, faults: Faults) -> tuple[dict[str, Any], Origin]:
        from ..data.readers import csv_rows

        return csv_rows(self, file, path, faults)
