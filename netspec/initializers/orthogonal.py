"""The ``orthogonal`` initializer."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from .base import GAIN_DESCRIPTION, INITIALIZERS, Gain, Initializer, gain

if TYPE_CHECKING:  # pragma: no cover
    import torch


@INITIALIZERS.register
class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times gain; common for recurrent weights."""
    EXAMPLE: ClassVar[str] = "{type: orthogonal, gain: 1.0}"
    type: Literal["orthogonal"]
    gain: Gain = Field(1.0, description=GAIN_DESCRIPTION)

    def fill_(self, tensor: "torch.Tensor") -> None:
        import torch.nn.init as I

        I.orthogonal_(tensor, gain(self.gain))
