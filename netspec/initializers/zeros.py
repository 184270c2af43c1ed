"""The ``zeros`` initializer."""

from typing import TYPE_CHECKING, ClassVar, Literal

from .base import INITIALIZERS, Initializer

if TYPE_CHECKING:  # pragma: no cover
    import torch


@INITIALIZERS.register
class Zeros(Initializer):
    """All zeros."""
    EXAMPLE: ClassVar[str] = "{type: zeros}"
    type: Literal["zeros"]

    def fill_(self, tensor: "torch.Tensor") -> None:
        tensor.zero_()
