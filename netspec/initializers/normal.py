"""The ``normal`` initializer."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from ..strict import PositiveFloat
from .base import INITIALIZERS, Initializer

if TYPE_CHECKING:  # pragma: no cover
    import torch


@INITIALIZERS.register
class Normal(Initializer):
    """N(mean, std²)."""
    EXAMPLE: ClassVar[str] = "{type: normal, mean: 0.0, std: 0.02}"
    type: Literal["normal"]
    mean: float = Field(0.0, description="Mean of the distribution.")
    std: PositiveFloat = Field(1.0, description="Standard deviation of the distribution.")

    def fill_(self, tensor: "torch.Tensor") -> None:
        tensor.normal_(self.mean, self.std)
