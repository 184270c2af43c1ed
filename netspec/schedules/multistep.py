"""The multistep schedule (torch MultiStepLR)."""

from typing import Any, ClassVar, Literal

from pydantic import Field

from ..strict import PositiveFloat, PositiveInt
from .base import Schedule
from .registry import SCHEDULES


@SCHEDULES.register
class MultiStep(Schedule):
    """Multiply the lr by gamma at each milestone (torch MultiStepLR)."""
    type: Literal["multistep"]
    milestones: list[PositiveInt] = Field(min_length=1, description="Intervals after which the lr decays.")
    gamma: PositiveFloat = Field(0.1, description="Factor of each decay.")

    EXAMPLE: ClassVar[str] = "{type: multistep, milestones: [2, 5], gamma: 0.3}"

    def build(self, optimizer: Any, intervals: int, mode: str = "min") -> Any:
        from torch.optim.lr_scheduler import MultiStepLR

        return MultiStepLR(optimizer, self.milestones, self.gamma)
