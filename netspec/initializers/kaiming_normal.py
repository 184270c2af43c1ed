"""The ``kaiming_normal`` initializer."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from .base import (
    INITIALIZERS,
    MODE_DESCRIPTION,
    NONLINEARITY_DESCRIPTION,
    SLOPE_DESCRIPTION,
    Initializer,
    Nonlinearity,
)

if TYPE_CHECKING:  # pragma: no cover
    import torch


@INITIALIZERS.register
class KaimingNormal(Initializer):
    """He: N(0, gain²/fan); suits the ReLU family."""
    EXAMPLE: ClassVar[str] = "{type: kaiming_normal, mode: fan_out, nonlinearity: relu}"
    type: Literal["kaiming_normal"]
    a: float = Field(0.0, description=SLOPE_DESCRIPTION)
    mode: Literal["fan_in", "fan_out"] = Field("fan_in", description=MODE_DESCRIPTION)
    nonlinearity: Nonlinearity = Field("leaky_relu", description=NONLINEARITY_DESCRIPTION)

    def fill_(self, tensor: "torch.Tensor") -> None:
        import torch.nn.init as I

        I.kaiming_normal_(tensor, self.a, self.mode, self.nonlinearity)
