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
    """Images in one sub-folder per class (PNG/JPEG/BMP/GIF/TIFF/WebP, read with Pillow), decoded lazily in the
    loader's workers (or once into a cache)."""
    FIELDS: ClassVar[str] = ("`image` (C, H, W) uint8, made float32 in [0, 1] (and normalized) on the device; "
                             "`target`: the class index (sub-folders in sorted order)")
    EXAMPLE: ClassVar[str] = "{type: image_folder, path: images/train, size: [64, 64], channels: 3}"
    type: Literal["image_folder"]
    path: str = Field(description="The folder holding one sub-folder per class.")
    size: Pair[PositiveInt] | None = Field(None, description="Resize every image to (H, W).")
    channels: Literal[1, 3] = Field(3, description="1 = grayscale, 3 = RGB.")
    cache: Literal["none", "ram", "disk"] = Field(
        "none", description="Decode every image once before training: ram (a uint8 array in memory) or disk (a "
                            "memory-mapped uint8 file in `.netspec-cache` beside the data, reused by later runs while "
                            "the files are unchanged); none decodes in the loader's workers every epoch.")
    draft: bool = Field(True, description="Let the JPEG decoder downscale by 1/2, 1/4 or 1/8 towards `size` before "
                                          "the bilinear resize (several times faster for large photos).")

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.readers import image_folder, locate, reading

        with reading(self, base, path):
            return image_folder(self, locate(base, self.path, path, folder=True), path, faults, expect)
