"""The ``affine`` augmentation."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from ..strict import Pair, PositiveFloat
from .base import AUGMENTATIONS, Augmentation, affine_transform

if TYPE_CHECKING:
    from .base import Transform


@AUGMENTATIONS.register
class Affine(Augmentation):
    """Random affine map: rotation, translation (fraction of size), scale range, shear (degrees)."""
    EXAMPLE: ClassVar[str] = "{type: affine, degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1], shear: 5}"
    geometric: ClassVar[bool] = True
    type: Literal["affine"]
    degrees: float = Field(0.0, ge=0, description="Rotation by a uniform angle in [-degrees, degrees].")
    translate: Pair[float] = Field([0.0, 0.0], description="Largest shift (x, y) as a fraction of the width and height.")
    scale: Pair[PositiveFloat] = Field([1.0, 1.0], description="Scale factor range [low, high].")
    shear: float = Field(0.0, ge=0, description="Shear by a uniform angle in [-shear, shear] degrees.")

    def transform(self) -> Transform:
        return affine_transform(self.degrees, self.translate, self.scale, self.shear)
