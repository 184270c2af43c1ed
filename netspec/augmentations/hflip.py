"""The ``hflip`` augmentation."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from ..strict import Probability
from .base import AUGMENTATIONS, Augmentation, flip

if TYPE_CHECKING:
    from .base import Transform


@AUGMENTATIONS.register
class HFlip(Augmentation):
    """Mirror left-right with probability p."""
    EXAMPLE: ClassVar[str] = "{type: hflip, p: 0.5}"
    geometric: ClassVar[bool] = True
    type: Literal["hflip"]
    p: Probability = Field(0.5, description="Probability of mirroring a sample.")

    def transform(self) -> "Transform":
        return flip(self.p, -1)
