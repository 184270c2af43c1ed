"""RMSprop (torch.optim.RMSprop)."""

from typing import ClassVar, Literal

from pydantic import Field

from ..strict import LearningRate, PositiveFloat, Probability
from .base import Optimizer
from .registry import OPTIMIZERS


@OPTIMIZERS.register
class RmsProp(Optimizer):
    """Steps divided by a running average of the squared gradient (torch.optim.RMSprop); alpha is that
    average's decay, 0.99 as in PyTorch (Keras uses 0.9)."""
    type: Literal["rmsprop"]
    lr: LearningRate = Field(0.01, description="Learning rate.")
    alpha: Probability = Field(0.99, description="Decay of the squared-gradient average.")
    eps: PositiveFloat = Field(1e-8, description="Added to the denominator for numerical stability.")
    momentum: float = Field(0.0, ge=0, lt=1, description="Momentum factor.")
    centered: bool = Field(False, description="Normalize by the gradient's variance (also keeps its average).")

    EXAMPLE: ClassVar[str] = "{type: rmsprop, lr: 0.01, alpha: 0.9, momentum: 0.5, centered: true}"
    torch_class: ClassVar[str] = "RMSprop"
    state: ClassVar[int] = 1  # the squared-gradient average

    def state_tensors(self) -> int:
        return self.state + int(self.momentum > 0) + int(self.centered)
