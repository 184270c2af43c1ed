"""The ``constant`` initializer."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from .base import INITIALIZERS, Initializer

if TYPE_CHECKING:  # pragma: no cover
    import torch


@INITIALIZERS.register
class Constant(Initializer):
    """Every element equal to `value`."""
    EXAMPLE: ClassVar[str] = "{type: constant, value: 0.1}"
    type: Literal["constant"]
    value: float = Field(description="The constant.")

    def fill_(self, tensor: "torch.Tensor") -> None:
        tensor.fill_(self.value)
