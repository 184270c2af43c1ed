"""The ``rotation`` augmentation."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from .base import AUGMENTATIONS, Augmentation, affine_transform

if TYPE_CHECKING:
    from .base import Transform


@AUGMENTATIONS.register
class Rotation(Augmentation):
    """Rotate by a uniform random angle in [-degrees, degrees]."""
    EXAMPLE: ClassVar[str] = "{type: rotation, degrees: 30}"
    geometric: ClassVar[bool] = True
    type: Literal["rotation"]
    degrees: float = Field(15.0, ge=0, description="Largest angle, in degrees.")

    def transform(self) -> "Transform":
        return affine_transform(self.degrees)
