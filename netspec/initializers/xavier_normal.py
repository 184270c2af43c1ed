"""The ``xavier_normal`` initializer."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from .base import GAIN_DESCRIPTION, INITIALIZERS, Gain, Initializer, gain

if TYPE_CHECKING:  # pragma: no cover
    import torch


@INITIALIZERS.register
class XavierNormal(Initializer):
    """Glorot: N(0, gain²·2/(fan_in+fan_out)); suits tanh/sigmoid."""
    EXAMPLE: ClassVar[str] = "{type: xavier_normal, gain: tanh}"
    type: Literal["xavier_normal"]
    gain: Gain = Field(1.0, description=GAIN_DESCRIPTION)

    def fill_(self, tensor: "torch.Tensor") -> None:
        import torch.nn.init as I

        I.xavier_normal_(tensor, gain(self.gain))
