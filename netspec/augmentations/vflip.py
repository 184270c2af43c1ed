"""The ``vflip`` augmentation."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from ..strict import Probability
from .base import AUGMENTATIONS, Augmentation, flip

if TYPE_CHECKING:
    from .base import Transform


@AUGMENTATIONS.register
class VFlip(Augmentation):
    """Mirror top-bottom with probability p."""
    EXAMPLE: ClassVar[str] = "{type: vflip, p: 0.5}"
    geometric: ClassVar[bool] = True
    type: Literal["vflip"]
    p: Probability = Field(0.5, description="Probability of mirroring a sample.")

    def transform(self) -> "Transform":
        return flip(self.p, -2)
