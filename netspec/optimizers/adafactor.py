"""Adafactor (torch.optim.Adafactor)."""

from typing import Annotated, ClassVar, Literal, Optional

from pydantic import Field

from ..strict import LearningRate, Pair
from .base import Optimizer
from .registry import OPTIMIZERS


@OPTIMIZERS.register
class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern 2018; torch.optim.Adafactor): steps from a factored second moment (a
    row and a column average per weight matrix, so almost no state beyond the gradient), of size
    min(lr, 1/√t) relative to the parameter's RMS."""
    type: Literal["adafactor"]
    lr: LearningRate = Field(0.01, description="Largest relative step size (the step size is min(lr, 1/√t)).")
    beta2_decay: float = Field(-0.8, le=0, description="τ: the second moment's decay rate at step t is 1 − t^τ.")
    eps: Pair[Optional[Annotated[float, Field(ge=0)]]] = Field(
        [None, 1e-3], description="ε₁ (added to the second moment; null: the dtype's machine epsilon) and ε₂ (the "
                                  "smallest parameter RMS the step is scaled by).")
    d: float = Field(1.0, ge=1, description="Clipping threshold of the update's RMS.")

    EXAMPLE: ClassVar[str] = "{type: adafactor, lr: 0.02, beta2_decay: -0.7, d: 1.5, weight_decay: 0.01}"
    torch_class: ClassVar[str] = "Adafactor"
    state: ClassVar[int] = 0  # matrices keep a row and a column vector; a vector (bias) keeps one of its size
