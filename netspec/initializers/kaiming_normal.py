"""The ``kaiming_normal`` initializer."""

from typing import ClassVar, Literal

from .base import INITIALIZERS, Kaiming


@INITIALIZERS.register
class KaimingNormal(Kaiming):
    """He: N(0, gain²/fan); suits the ReLU family."""
    EXAMPLE: ClassVar[str] = "{type: kaiming_normal, mode: fan_out, nonlinearity: relu}"
    type: Literal["kaiming_normal"]
    torch_init: ClassVar[str] = "kaiming_normal_"
