"""The ``arrays`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from ..strict import FieldName
from .base import SOURCES, Source

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.table import Table
    from ..errors import SpecPath


@SOURCES.register
class Arrays(Source):
    """NumPy arrays: an .npz file (each key a field) or .npy files (field -> path)."""
    FIELDS: ClassVar[str] = ("one field per array (its key in the .npz, or the name given in `files`), renamed by "
                             "`rename`")
    EXAMPLE: ClassVar[str] = "{type: arrays, path: dataset.npz, rename: {x: features, y: target}}"
    type: Literal["arrays"]
    path: str | None = Field(None, description="An .npz file; every array in it becomes a field.")
    files: dict[FieldName, str] = Field(default={}, description="field -> .npy file.")
    rename: dict[str, FieldName] = Field(default={}, description="Array key -> field name (e.g. {x: features, y: target}).")

    @model_validator(mode="after")
    def _one_of(self) -> Arrays:
        if (self.path is None) == (not self.files):
            raise ValueError("give either `path` (an .npz file) or `files` (field: .npy file)")
        return self

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.readers import arrays, reading

        with reading(self, base, path):
            return arrays(self, base, path, faults)
