"""The ``xavier_uniform`` initializer."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from .base import GAIN_DESCRIPTION, INITIALIZERS, Gain, Initializer, gain

if TYPE_CHECKING:  # pragma: no cover
    import torch


@INITIALIZERS.register
class XavierUniform(Initializer):
    """Glorot: U(±gain·√(6/(fan_in+fan_out))); suits tanh/sigmoid."""
    EXAMPLE: ClassVar[str] = "{type: xavier_uniform, gain: tanh}"
    type: Literal["xavier_uniform"]
    gain: Gain = Field(1.0, description=GAIN_DESCRIPTION)

    def fill_(self, tensor: "torch.Tensor") -> None:
        import torch.nn.init as I

        I.xavier_uniform_(tensor, gain(self.gain))
