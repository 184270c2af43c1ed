"""The ``zeros`` initializer."""

from typing import ClassVar, Literal

from .base import INITIALIZERS, Initializer


@INITIALIZERS.register
class Zeros(Initializer):
    """All zeros."""
    EXAMPLE: ClassVar[str] = "{type: zeros}"
    type: Literal["zeros"]

    def fill_(self, tensor) -> None:
        tensor.zero_()
