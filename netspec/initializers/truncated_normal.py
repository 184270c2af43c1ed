"""The ``truncated_normal`` initializer."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from ..strict import PositiveFloat
from .base import INITIALIZERS, Initializer

if TYPE_CHECKING:  # pragma: no cover
    import torch


@INITIALIZERS.register
class TruncatedNormal(Initializer):
    """N(mean, std²) redrawn outside [a, b] (absolute bounds)."""
    EXAMPLE: ClassVar[str] = "{type: truncated_normal, std: 0.02, a: -0.04, b: 0.04}"
    type: Literal["truncated_normal"]
    mean: float = Field(0.0, description="Mean of the distribution.")
    std: PositiveFloat = Field(1.0, description="Standard deviation of the distribution.")
    a: float = Field(-2.0, description="Lower bound (an absolute value, not in standard deviations).")
    b: float = Field(2.0, description="Upper bound (an absolute value, not in standard deviations).")

    def fill_(self, tensor: "torch.Tensor") -> None:
        import torch.nn.init as I

        I.trunc_normal_(tensor, self.mean, self.std, self.a, self.b)
