"""The ``lecun_uniform`` initializer."""

import math
from typing import TYPE_CHECKING, ClassVar, Literal

from .base import INITIALIZERS, Initializer, fan_in

if TYPE_CHECKING:  # pragma: no cover
    import torch


@INITIALIZERS.register
class LecunUniform(Initializer):
    """LeCun: U(±√(3/fan_in))."""
    EXAMPLE: ClassVar[str] = "{type: lecun_uniform}"
    type: Literal["lecun_uniform"]

    def fill_(self, tensor: "torch.Tensor") -> None:
        bound = math.sqrt(3.0 / fan_in(tensor))
        tensor.uniform_(-bound, bound)
