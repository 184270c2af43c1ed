"""NAdam (torch.optim.NAdam)."""

from typing import ClassVar, Literal

from pydantic import Field

from .base import AdamLike
from .registry import OPTIMIZERS


@OPTIMIZERS.register
class NAdam(AdamLike):
    """Adam with Nesterov momentum (Dozat 2016; torch.optim.NAdam)."""
    type: Literal["nadam"]
    momentum_decay: float = Field(0.004, ge=0, description="Momentum decay ψ.")

    EXAMPLE: ClassVar[str] = "{type: nadam, lr: 0.01, momentum_decay: 0.01}"
    torch_class: ClassVar[str] = "NAdam"
