"""The cosine schedule (torch CosineAnnealingLR)."""

from typing import Any, ClassVar, Literal, Optional

from pydantic import Field

from ..strict import PositiveInt
from .base import Schedule
from .registry import SCHEDULES


@SCHEDULES.register
class Cosine(Schedule):
    """Cosine annealing from the lr to eta_min over t_max intervals (torch CosineAnnealingLR)."""
    type: Literal["cosine"]
    t_max: Optional[PositiveInt] = Field(None, description="Length in intervals (default: the rest of training).")
    eta_min: float = Field(0.0, ge=0, description="The lowest lr.")

    EXAMPLE: ClassVar[str] = "{type: cosine, t_max: 6, eta_min: 0.001}"

    def build(self, optimizer: Any, intervals: int, mode: str = "min") -> Any:
        from torch.optim.lr_scheduler import CosineAnnealingLR

        return CosineAnnealingLR(optimizer, self.t_max or max(intervals, 1), self.eta_min)
