"""The ``kaiming_uniform`` initializer."""

from typing import ClassVar, Literal

from .base import INITIALIZERS, Kaiming


@INITIALIZERS.register
class KaimingUniform(Kaiming):
    """He: U(±gain·√(3/fan)); suits the ReLU family."""
    EXAMPLE: ClassVar[str] = "{type: kaiming_uniform, mode: fan_out, nonlinearity: relu}"
    type: Literal["kaiming_uniform"]
    torch_init: ClassVar[str] = "kaiming_uniform_"
