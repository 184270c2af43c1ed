"""The ``noise`` augmentation."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from ..strict import PositiveFloat
from .base import AUGMENTATIONS, Augmentation

if TYPE_CHECKING:
    from .base import Transform


@AUGMENTATIONS.register
class Noise(Augmentation):
    """Add Gaussian noise with standard deviation std."""
    EXAMPLE: ClassVar[str] = "{type: noise, std: 0.05}"
    geometric: ClassVar[bool] = False
    type: Literal["noise"]
    std: PositiveFloat = Field(0.05, description="Standard deviation of the noise.")

    def transform(self) -> "Transform":
        import torch

        std = self.std

        def run(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
            return x + torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype) * std
        return run
