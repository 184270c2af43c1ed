"""The ``parquet`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from .base import SOURCES
from .tabular import Streamable

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.faults import Faults, Origin
    from ..errors import SpecPath


@SOURCES.register
class Parquet(Streamable):
    """A Parquet file (needs pyarrow: `pip install pyarrow`, or the `parquet` extra)."""
    FIELDS: ClassVar[str] = "like csv: `features` (F,) float32, categorical columns one-hot encoded; `target`"
    EXAMPLE: ClassVar[str] = ("{type: parquet, path: measurements.parquet, features: [width, height, depth], target: "
                              "label}")
    type: Literal["parquet"]

    def rows(self, file: Path, path: SpecPath, faults: Faults) -> tuple[dict[str, Any], Origin]:
        from ..data.readers import parquet_rows

        return parquet_rows(file, path)
