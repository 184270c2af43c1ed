"""Adagrad (torch.optim.Adagrad)."""

from typing import ClassVar, Literal

from pydantic import Field

from ..strict import LearningRate, PositiveFloat
from .base import Optimizer
from .registry import OPTIMIZERS


@OPTIMIZERS.register
class Adagrad(Optimizer):
    """Per-parameter learning rates scaled by the accumulated squared gradients (torch.optim.Adagrad)."""
    type: Literal["adagrad"]
    lr: LearningRate = Field(0.01, description="Learning rate.")
    lr_decay: float = Field(0.0, ge=0, description="Learning-rate decay per step.")
    eps: PositiveFloat = Field(1e-10, description="Added to the denominator for numerical stability.")

    EXAMPLE: ClassVar[str] = "{type: adagrad, lr: 0.05, lr_decay: 0.01}"
    torch_class: ClassVar[str] = "Adagrad"
    fused: ClassVar[bool] = True
    state: ClassVar[int] = 1  # the sum of squared gradients
