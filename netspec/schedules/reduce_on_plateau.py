"""The reduce-on-plateau schedule (torch ReduceLROnPlateau)."""

from typing import Any, ClassVar, Literal, cast

from pydantic import Field

from ..strict import NonNegInt, Probability
from .base import Schedule
from .registry import SCHEDULES


@SCHEDULES.register
class ReduceOnPlateau(Schedule):
    """Multiply the lr by factor when the monitored metric has not improved for patience epochs (torch
    ReduceLROnPlateau). Steps per epoch, on the metric's value."""
    type: Literal["reduce_on_plateau"]
    monitor: str = Field("val.loss", description="The logged metric it watches.")
    mode: Literal["auto", "min", "max"] = Field("auto", description="auto: max for accuracy-like metrics, min otherwise.")
    factor: Probability = Field(0.1, description="Factor of each reduction.")
    patience: NonNegInt = Field(10, description="Epochs without improvement before a reduction.")
    threshold: float = Field(1e-4, ge=0, description="Relative change that counts as an improvement.")
    min_lr: float = Field(0.0, ge=0, description="The lowest lr.")

    EXAMPLE: ClassVar[str] = "{type: reduce_on_plateau, monitor: val.loss, factor: 0.5, patience: 1}"

    def monitored(self) -> str:
        return self.monitor

    def build(self, optimizer: Any, intervals: int, mode: str = "min") -> Any:
        from torch.optim.lr_scheduler import ReduceLROnPlateau

        direction = cast(Literal["min", "max"], self.mode if self.mode != "auto" else mode)
        return ReduceLROnPlateau(optimizer, mode=direction, factor=self.factor, patience=self.patience,
                                 threshold=self.threshold, min_lr=self.min_lr)
