"""The ``sklearn`` source."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import SOURCES, Source


@SOURCES.register
class Sklearn(Source):
    """A dataset bundled with scikit-learn (no download)."""
    FIELDS: ClassVar[str] = ("`features` (F,) float32 (digits with `images: true`: `image` (1, 8, 8)); `target`: the "
                             "class index (int64), or a float for diabetes")
    EXAMPLE: ClassVar[str] = "{type: sklearn, name: digits, images: true}"
    type: Literal["sklearn"]
    name: Literal["digits", "iris", "wine", "breast_cancer", "diabetes"] = Field(description="Which bundled dataset.")
    images: bool = Field(False, description="digits only: give `image` (1, 8, 8) instead of `features` (64,).")

    def read(self, base, classify, path, faults=None, expect=None):
        from ..data.bundled import sklearn_table

        return sklearn_table(self)
