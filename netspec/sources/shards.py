"""The ``shards`` source: WebDataset tar shards of images and labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, Optional

from pydantic import Field

from ..strict import Pair, PositiveInt
from .base import SOURCES, Source

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.table import Table
    from ..errors import SpecPath


@SOURCES.register
class Shards(Source):
    """Images and labels in WebDataset tar shards (members `<key>.jpg`, `<key>.cls`, ...), read by index:
    each shard is indexed once (cached beside it) and a sample's image is read by seeking into its tar and
    decoded in the loader's workers; distributed ranks read only their part of every batch."""
    FIELDS: ClassVar[str] = ("`image` (C, H, W) uint8, made float32 in [0, 1] (and normalized) on the device; "
                             "`target`: the class index (from the label member; class names in sorted order)")
    EXAMPLE: ClassVar[str] = "{type: shards, path: 'shards/train-{000000..000001}.tar', size: [32, 32]}"
    type: Literal["shards"]
    path: str = Field(description="The shard files: a glob (`train-*.tar`) or a brace pattern "
                                  "(`train-{000000..000099}.tar`), relative to the spec file.")
    size: Optional[Pair[PositiveInt]] = Field(None, description="Resize every image to (H, W).")
    channels: Literal[1, 3] = Field(3, description="1 = grayscale, 3 = RGB.")
    image: Optional[str] = Field(None, description="The member extension holding the image (default: the sample's "
                                                   "first member with an image extension: jpg, png, ...).")
    label: str = Field("cls", description="The member extension holding the label: a class index (names from a "
                                          "`classes.txt` beside the shards, if there) or a class name.")
    draft: bool = Field(True, description="Let the JPEG decoder downscale by 1/2, 1/4 or 1/8 towards `size` before "
                                          "the bilinear resize.")

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.readers import reading
        from ..data.shards import shards_table

        with reading(self, base, path):
            return shards_table(self, base, classify, path, faults, expect)
