"""The ``lecun_normal`` initializer."""

import math
from typing import TYPE_CHECKING, ClassVar, Literal

from .base import INITIALIZERS, Initializer, fan_in

if TYPE_CHECKING:  # pragma: no cover
    import torch


@INITIALIZERS.register
class LecunNormal(Initializer):
    """LeCun: N(0, 1/fan_in); pairs with selu."""
    EXAMPLE: ClassVar[str] = "{type: lecun_normal}"
    type: Literal["lecun_normal"]

    def fill_(self, tensor: "torch.Tensor") -> None:
        tensor.normal_(0.0, 1.0 / math.sqrt(fan_in(tensor)))
