"""The keys the table sources share (csv, parquet): columns by name, one-hot categoricals, classes;
``Streamable`` adds ``stream`` (read in record batches into a column cache, ``netspec.data.columnar``)."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any, Literal, Union

from pydantic import Field

from .base import Source

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.faults import Faults, Origin
    from ..data.table import Table
    from ..errors import SpecPath


class Tabular(Source):
    """A table: feature and target columns taken by name (read by ``netspec.data.tabular``)."""

    path: str = Field(description="The file, relative to the spec file.")
    features: list[str] | None = Field(None, description="Feature columns (default: every column but the targets).")
    target: str | list[str] | None = Field(None, description="Target column(s); null for unlabelled data.")
    categorical: list[str] = Field(default=[], description="Columns one-hot encoded (categories from the train split).")
    classes: list[str | int] | None = Field(
        None, description="Class labels in index order (default: sorted unique values of an integer or string target).")

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.readers import locate, reading, tabular

        with reading(self, base, path):
            return tabular(self, locate(base, self.path, path), classify, path, faults, expect)

    @abstractmethod
    def rows(self, file: Path, path: SpecPath, faults: Faults) -> tuple[dict[str, Any], Origin]:
        """Column name -> array of the column's values, and where each row came from (an ``Origin``)."""


class Streamable(Tabular):
    """A table file that can be read in record batches (csv, parquet) instead of whole."""

    stream: Union[Literal["auto"], bool] = Field(
        "auto", description="Read the file in record batches (pyarrow) into a memory-mapped column cache in "
                            "`.netspec-cache` beside it, and the train split's rows from that cache batch by batch, "
                            "instead of reading the file whole (auto: when the file is over 64 MiB or over 1/32 of "
                            "the free memory). Preprocessing statistics are then fitted in one streaming pass.")

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.columnar import streamed_table, wants_stream
        from ..data.readers import locate, reading

        file = locate(base, self.path, path)
        if not wants_stream(self.stream, file):
            return super().read(base, classify, path, faults, expect)
        with reading(self, base, path):
            return streamed_table(self, file, classify, path, faults, expect)
