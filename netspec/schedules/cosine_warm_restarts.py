"""The cosine schedule with warm restarts (torch CosineAnnealingWarmRestarts)."""

from typing import Any, ClassVar, Literal

from pydantic import Field

from ..strict import PositiveInt
from .base import Schedule
from .registry import SCHEDULES


@SCHEDULES.register
class CosineWarmRestarts(Schedule):
    """Cosine annealing restarted every t_0 intervals, each period t_mult times longer (SGDR; torch
    CosineAnnealingWarmRestarts)."""
    type: Literal["cosine_warm_restarts"]
    t_0: PositiveInt = Field(10, description="Length of the first period in intervals.")
    t_mult: PositiveInt = Field(1, description="Factor by which each period is longer than the one before.")
    eta_min: float = Field(0.0, ge=0, description="The lowest lr.")

    EXAMPLE: ClassVar[str] = "{type: cosine_warm_restarts, t_0: 3, t_mult: 2}"

    def build(self, optimizer: Any, intervals: int, mode: str = "min") -> Any:
        from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts

        return CosineAnnealingWarmRestarts(optimizer, self.t_0, self.t_mult, self.eta_min)
