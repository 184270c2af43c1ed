"""Adam (torch.optim.Adam)."""

from typing import ClassVar, Literal

from pydantic import Field

from .base import AdamLike
from .registry import OPTIMIZERS


@OPTIMIZERS.register
class Adam(AdamLike):
    """Adam (Kingma & Ba 2015): steps scaled by running averages of the gradient and its square (torch.optim.Adam)."""
    type: Literal["adam"]
    amsgrad: bool = Field(False, description="Use the maximum of the squared-gradient averages (AMSGrad).")

    EXAMPLE: ClassVar[str] = "{type: adam, lr: 0.01, betas: [0.8, 0.99], amsgrad: true}"
    torch_class: ClassVar[str] = "Adam"
    fused: ClassVar[bool] = True

    def state_tensors(self) -> int:
        return self.state + int(self.amsgrad)
