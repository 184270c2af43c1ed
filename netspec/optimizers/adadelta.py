"""Adadelta (torch.optim.Adadelta)."""

from typing import ClassVar, Literal

from pydantic import Field

from ..strict import LearningRate, PositiveFloat, Probability
from .base import Optimizer
from .registry import OPTIMIZERS


@OPTIMIZERS.register
class Adadelta(Optimizer):
    """Adagrad with running averages of squared gradients and squared updates (torch.optim.Adadelta)."""
    type: Literal["adadelta"]
    lr: LearningRate = Field(1.0, description="Scale of the update.")
    rho: Probability = Field(0.9, description="Decay of the running averages.")
    eps: PositiveFloat = Field(1e-6, description="Added to the denominator for numerical stability.")

    EXAMPLE: ClassVar[str] = "{type: adadelta, lr: 0.5, rho: 0.8}"
    torch_class: ClassVar[str] = "Adadelta"
    state: ClassVar[int] = 2  # the squared-gradient and squared-update averages
