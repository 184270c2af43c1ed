"""AdamW (torch.optim.AdamW)."""

from typing import ClassVar, Literal

from pydantic import Field

from .base import AdamLike
from .registry import OPTIMIZERS


@OPTIMIZERS.register
class AdamW(AdamLike):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019; torch.optim.AdamW)."""
    type: Literal["adamw"]
    weight_decay: float = Field(0.01, ge=0, description="Decoupled weight decay.")
    amsgrad: bool = Field(False, description="Use the maximum of the squared-gradient averages (AMSGrad).")

    EXAMPLE: ClassVar[str] = "{type: adamw, lr: 0.01, weight_decay: 0.1}"
    torch_class: ClassVar[str] = "AdamW"
    fused: ClassVar[bool] = True

    def state_tensors(self) -> int:
        return self.state + int(self.amsgrad)
