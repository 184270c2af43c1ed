"""The inverse-time schedule (Keras InverseTimeDecay, as a torch LambdaLR)."""

from typing import Any, ClassVar, Literal

from pydantic import Field

from ..strict import PositiveFloat, PositiveInt
from .base import Schedule
from .registry import SCHEDULES


@SCHEDULES.register
class InverseTime(Schedule):
    """Inverse-time decay (Keras InverseTimeDecay): lr₀ / (1 + decay_rate · t / decay_steps) after t
    intervals (optimizer steps unless ``interval: epoch``); staircase rounds t / decay_steps down.
    Steps per batch."""
    type: Literal["inverse_time"]
    decay_steps: PositiveInt = Field(description="Intervals over which the denominator grows by decay_rate.")
    decay_rate: PositiveFloat = Field(description="Growth of the denominator per decay_steps intervals.")
    staircase: bool = Field(False, description="Decay in steps: t / decay_steps rounded down.")

    EXAMPLE: ClassVar[str] = "{type: inverse_time, decay_steps: 2, decay_rate: 0.5}"
    per_batch: ClassVar[bool] = True

    def build(self, optimizer: Any, intervals: int, mode: str = "min") -> Any:
        from torch.optim.lr_scheduler import LambdaLR

        rate, steps, staircase = self.decay_rate, self.decay_steps, self.staircase

        def factor(t: int) -> float:
            return 1.0 / (1.0 + rate * (t // steps if staircase else t / steps))

        return LambdaLR(optimizer, factor)
