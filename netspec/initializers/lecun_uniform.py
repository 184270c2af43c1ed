"""The ``lecun_uniform`` initializer."""

import math
from typing import ClassVar, Literal

from .base import INITIALIZERS, Initializer, fan_in


@INITIALIZERS.register
class LecunUniform(Initializer):
    """LeCun: U(±√(3/fan_in))."""
    EXAMPLE: ClassVar[str] = "{type: lecun_uniform}"
    type: Literal["lecun_uniform"]

    def fill_(self, tensor) -> None:
        bound = math.sqrt(3.0 / fan_in(tensor))
        tensor.uniform_(-bound, bound)
