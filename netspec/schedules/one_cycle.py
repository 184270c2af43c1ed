"""The one-cycle schedule (torch OneCycleLR)."""

from typing import Any, ClassVar, Literal, Optional

from pydantic import Field

from ..strict import PositiveFloat, Probability
from .base import Schedule, base_lrs
from .registry import SCHEDULES


@SCHEDULES.register
class OneCycle(Schedule):
    """Up from max_lr/div_factor to max_lr, then down to max_lr/(div_factor·final_div_factor), over
    the rest of training (Smith 2018; torch OneCycleLR without momentum cycling). Steps per batch."""
    type: Literal["one_cycle"]
    max_lr: Optional[PositiveFloat] = Field(None, description="Default: the optimizer's lr.")
    pct_start: Probability = Field(0.3, description="Share of the cycle spent increasing the lr.")
    anneal_strategy: Literal["cos", "linear"] = Field("cos", description="Shape of the annealing.")
    div_factor: PositiveFloat = Field(25.0, description="The initial lr is max_lr / div_factor.")
    final_div_factor: PositiveFloat = Field(1e4, description="The final lr is the initial lr / final_div_factor.")

    EXAMPLE: ClassVar[str] = "{type: one_cycle, max_lr: 0.5, pct_start: 0.25}"
    per_batch: ClassVar[bool] = True

    def build(self, optimizer: Any, intervals: int, mode: str = "min") -> Any:
        from torch.optim.lr_scheduler import OneCycleLR

        return OneCycleLR(optimizer, max_lr=self.max_lr or base_lrs(optimizer), total_steps=max(intervals, 2),
                          pct_start=self.pct_start, anneal_strategy=self.anneal_strategy, div_factor=self.div_factor,
                          final_div_factor=self.final_div_factor, cycle_momentum=False)
