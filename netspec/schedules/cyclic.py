"""The cyclic schedule (torch CyclicLR)."""

from typing import Any, ClassVar, Literal, Optional

from pydantic import Field

from ..strict import PositiveFloat, PositiveInt
from .base import Schedule, base_lrs
from .registry import SCHEDULES


@SCHEDULES.register
class Cyclic(Schedule):
    """The lr cycles between base_lr and max_lr (Smith 2017; torch CyclicLR without momentum cycling).
    Steps per batch."""
    type: Literal["cyclic"]
    base_lr: PositiveFloat = Field(1e-4, description="The lowest lr of a cycle.")
    max_lr: Optional[PositiveFloat] = Field(None, description="Default: the optimizer's lr.")
    step_size_up: PositiveInt = Field(200, description="Intervals from base_lr up to max_lr (and as many down).")
    mode: Literal["triangular", "triangular2", "exp_range"] = Field(
        "triangular", description="triangular2 halves the amplitude every cycle, exp_range scales it by gamma^t.")
    gamma: PositiveFloat = Field(1.0, description="Factor of exp_range.")

    EXAMPLE: ClassVar[str] = "{type: cyclic, base_lr: 0.01, max_lr: 0.1, step_size_up: 3}"
    per_batch: ClassVar[bool] = True

    def build(self, optimizer: Any, intervals: int, mode: str = "min") -> Any:
        from torch.optim.lr_scheduler import CyclicLR

        return CyclicLR(optimizer, base_lr=self.base_lr, max_lr=self.max_lr or base_lrs(optimizer),
                        step_size_up=self.step_size_up, mode=self.mode, gamma=self.gamma, cycle_momentum=False)
