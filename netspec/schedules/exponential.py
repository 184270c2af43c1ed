"""The exponential schedule (torch ExponentialLR)."""

from typing import Any, ClassVar, Literal

from pydantic import Field

from ..strict import PositiveFloat
from .base import Schedule
from .registry import SCHEDULES


@SCHEDULES.register
class Exponential(Schedule):
    """Multiply the lr by gamma every interval (torch ExponentialLR)."""
    type: Literal["exponential"]
    gamma: PositiveFloat = Field(0.95, description="Factor per interval.")

    EXAMPLE: ClassVar[str] = "{type: exponential, gamma: 0.9}"

    def build(self, optimizer: Any, intervals: int, mode: str = "min") -> Any:
        from torch.optim.lr_scheduler import ExponentialLR

        return ExponentialLR(optimizer, self.gamma)
