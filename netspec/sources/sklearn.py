"""The ``sklearn`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from .base import SOURCES, Source

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.table import Table
    from ..errors import SpecPath


@SOURCES.register
class Sklearn(Source):
    """A dataset bundled with scikit-learn (no download)."""
    FIELDS: ClassVar[str] = ("`features` (F,) float32 (digits with `images: true`: `image` (1, 8, 8)); `target`: the "
                             "class index (int64), or a float for diabetes")
    EXAMPLE: ClassVar[str] = "{type: sklearn, name: digits, images: true}"
    type: Literal["sklearn"]
    name: Literal["digits", "iris", "wine", "breast_cancer", "diabetes"] = Field(description="Which bundled dataset.")
    images: bool = Field(False, description="digits only: give `image` (1, 8, 8) instead of `features` (64,).")

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.bundled import sklearn_table

        return sklearn_table(self)
