"""The ``constant`` initializer."""

from typing import ClassVar, Literal

from pydantic import Field

from .base import INITIALIZERS, Initializer


@INITIALIZERS.register
class Constant(Initializer):
    """Every element equal to `value`."""
    EXAMPLE: ClassVar[str] = "{type: constant, value: 0.1}"
    type: Literal["constant"]
    value: float = Field(description="The constant.")

    def fill_(self, tensor) -> None:
        tensor.fill_(self.value)
