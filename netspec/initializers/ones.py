"""The ``ones`` initializer."""

from typing import ClassVar, Literal

from .base import INITIALIZERS, Initializer


@INITIALIZERS.register
class Ones(Initializer):
    """All ones."""
    EXAMPLE: ClassVar[str] = "{type: ones}"
    type: Literal["ones"]

    def fill_(self, tensor) -> None:
        tensor.fill_(1.0)
