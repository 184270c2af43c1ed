"""The ``image_folder`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from ..strict import Pair, PositiveInt
from .base import SOURCES, Source

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.table import Table
    from ..errors import SpecPath


@SOURCES.register
class ImageFolder(Source):
    """Images in one sub-folder per class (PNG/JPEG/BMP/GIF, read with Pillow)."""
    FIELDS: ClassVar[str] = ("`image` (C, H, W) float32 in [0, 1]; `target`: the class index (sub-folders in sorted "
                             "order)")
    EXAMPLE: ClassVar[str] = "{type: image_folder, path: images/train, size: [64, 64], channels: 3}"
    type: Literal["image_folder"]
    path: str = Field(description="The folder holding one sub-folder per class.")
    size: Pair[PositiveInt] | None = Field(None, description="Resize every image to (H, W).")
    channels: Literal[1, 3] = Field(3, description="1 = grayscale, 3 = RGB.")

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.readers import image_folder, locate, reading

        with reading(self, base, path):
            return image_folder(self, locate(base, self.path, path, folder=True), path, faults, expect)
