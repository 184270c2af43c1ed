"""The ``uniform`` initializer."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from .base import INITIALIZERS, Initializer

if TYPE_CHECKING:  # pragma: no cover
    import torch


@INITIALIZERS.register
class Uniform(Initializer):
    """U(a, b)."""
    EXAMPLE: ClassVar[str] = "{type: uniform, a: -0.1, b: 0.1}"
    type: Literal["uniform"]
    a: float = Field(0.0, description="Lower bound.")
    b: float = Field(1.0, description="Upper bound.")

    def fill_(self, tensor: "torch.Tensor") -> None:
        tensor.uniform_(self.a, self.b)
