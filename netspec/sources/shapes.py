"""The ``shapes`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from ..strict import PositiveInt, Seed
from .base import SOURCES, Source

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.table import Table
    from ..errors import SpecPath


@SOURCES.register
class Shapes(Source):
    """Generated grayscale images of filled circles, rectangles and triangles with per-pixel masks."""
    FIELDS: ClassVar[str] = ("`image` (1, H, W) float32 in [0, 1] (noisy); `mask` (H, W) int64, the class of each "
                             "pixel")
    EXAMPLE: ClassVar[str] = "{type: shapes, num_samples: 3000, size: 32, max_shapes: 3}"
    type: Literal["shapes"]
    num_samples: PositiveInt = Field(1000, description="Number of images.")
    size: PositiveInt = Field(32, ge=8, description="Images are size × size pixels.")
    max_shapes: PositiveInt = Field(3, description="Each image holds 1 … max_shapes shapes (later ones on top).")
    kinds: list[Literal["circle", "rectangle", "triangle"]] = Field(
        default=["circle", "rectangle", "triangle"], min_length=1,
        description="Shape kinds; mask class k + 1 is kinds[k] (0 is background).")
    classes: Literal["kind", "binary"] = Field("kind", description="kind: one class per shape kind; binary: object vs background.")
    noise: float = Field(0.1, ge=0, description="Standard deviation of Gaussian pixel noise.")
    seed: Seed = Field(0, description="Seed of the generator: the same seed gives the same data.")

    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        from ..data.synthetic import shapes_table

        return shapes_table(self)
