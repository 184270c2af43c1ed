"""Stochastic gradient descent (torch.optim.SGD)."""

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from ..strict import LearningRate
from .base import Optimizer
from .registry import OPTIMIZERS


@OPTIMIZERS.register
class Sgd(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum (torch.optim.SGD)."""
    type: Literal["sgd"]
    lr: LearningRate = Field(0.01, description="Learning rate.")
    momentum: float = Field(0.0, ge=0, lt=1, description="Momentum factor (0: plain SGD).")
    dampening: float = Field(0.0, ge=0, description="Dampening of the momentum.")
    nesterov: bool = Field(False, description="Nesterov momentum (needs momentum > 0 and dampening 0).")

    EXAMPLE: ClassVar[str] = "{type: sgd, lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 0.001}"
    torch_class: ClassVar[str] = "SGD"
    fused: ClassVar[bool] = True
    state: ClassVar[int] = 0

    @model_validator(mode="after")
    def _nesterov(self) -> "Sgd":
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov needs momentum > 0 and dampening 0")
        return self

    def state_tensors(self) -> int:
        return int(self.momentum > 0)  # the momentum buffer
