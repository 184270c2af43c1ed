"""The constant schedule."""

from typing import Any, ClassVar, Literal

from .base import Schedule
from .registry import SCHEDULES


@SCHEDULES.register
class Constant(Schedule):
    """The optimizer's lr throughout (after the warm-up, if any)."""
    type: Literal["constant"]

    EXAMPLE: ClassVar[str] = "{type: constant, warmup_steps: 2}"

    def build(self, optimizer: Any, intervals: int, mode: str = "min") -> None:
        return None
