"""The ``kaiming_uniform`` initializer."""

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
class KaimingUniform(Initializer):
    """He: U(±gain·√(3/fan)); suits the ReLU family."""
    EXAMPLE: ClassVar[str] = "{type: kaiming_uniform, mode: fan_out, nonlinearity: relu}"
    type: Literal["kaiming_uniform"]
    a: float = Field(0.0, description=SLOPE_DESCRIPTION)
    mode: Literal["fan_in", "fan_out"] = Field("fan_in", description=MODE_DESCRIPTION)
    nonlinearity: Nonlinearity = Field("leaky_relu", description=NONLINEARITY_DESCRIPTION)

    def fill_(self, tensor: "torch.Tensor") -> None:
        import torch.nn.init as I

        I.kaiming_uniform_(tensor, self.a, self.mode, self.nonlinearity)
