"""RAdam (torch.optim.RAdam)."""

from typing import ClassVar, Literal

from .base import AdamLike
from .registry import OPTIMIZERS


@OPTIMIZERS.register
class RAdam(AdamLike):
    """Adam with a rectified adaptive learning rate (Liu et al. 2020; torch.optim.RAdam): no warm-up needed."""
    type: Literal["radam"]

    EXAMPLE: ClassVar[str] = "{type: radam, lr: 0.01, eps: 1e-6}"
    torch_class: ClassVar[str] = "RAdam"
