"""The ``xavier_uniform`` initializer."""

from typing import ClassVar, Literal

from pydantic import Field

from .base import GAIN_DESCRIPTION, INITIALIZERS, Gain, Initializer, gain


@INITIALIZERS.register
class XavierUniform(Initializer):
    """Glorot: U(±gain·√(6/(fan_in+fan_out))); suits tanh/sigmoid."""
    EXAMPLE: ClassVar[str] = "{type: xavier_uniform, gain: tanh}"
    type: Literal["xavier_uniform"]
    gain: Gain = Field(1.0, description=GAIN_DESCRIPTION)

    def fill_(self, tensor) -> None:
        import torch.nn.init as I

        I.xavier_uniform_(tensor, gain(self.gain))
