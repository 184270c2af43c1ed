"""The ``ones`` initializer."""

from typing import TYPE_CHECKING, ClassVar, Literal

from .base import INITIALIZERS, Initializer

if TYPE_CHECKING:  # pragma: no cover
    import torch


@INITIALIZERS.register
class Ones(Initializer):
    """All ones."""
    EXAMPLE: ClassVar[str] = "{type: ones}"
    type: Literal["ones"]

    def fill_(self, tensor: "torch.Tensor") -> None:
        tensor.fill_(1.0)
