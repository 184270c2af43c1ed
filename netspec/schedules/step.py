"""The step schedule (torch StepLR)."""

from typing import Any, ClassVar, Literal

from pydantic import Field

from ..strict import PositiveFloat, PositiveInt
from .base import Schedule
from .registry import SCHEDULES


@SCHEDULES.register
class Step(Schedule):
    """Multiply the lr by gamma every step_size intervals (torch StepLR)."""
    type: Literal["step"]
    step_size: PositiveInt = Field(10, description="Intervals between two decays.")
    gamma: PositiveFloat = Field(0.1, description="Factor of each decay.")

    EXAMPLE: ClassVar[str] = "{type: step, step_size: 2, gamma: 0.5}"

    def build(self, optimizer: Any, intervals: int, mode: str = "min") -> Any:
        from torch.optim.lr_scheduler import StepLR

        return StepLR(optimizer, self.step_size, self.gamma)
