"""The interface every learning-rate schedule class declares, and the warm-up all of them share.

A schedule is one pydantic class (``type: Literal["<tag>"]`` and its parameters, named as
torch.optim.lr_scheduler names them) registered with ``@SCHEDULES.register``. Besides its schema it
carries its documentation (the docstring), ``EXAMPLE`` (a YAML flow mapping for the docs and the
registry-wide tests) and what the trainer (``netspec.train.schedules``) asks it:

- ``build(optimizer, intervals, mode)``: the torch scheduler (or None: the lr stays), ``intervals``
  being how many times it will be advanced (the length of the rest of training in its interval);
  torch is imported inside, so the schema stays torch-free;
- ``per_batch``: its default ``interval`` is ``step`` (after every optimizer step) rather than ``epoch``;
- ``monitored()``: the logged metric it steps on (None for schedules that step on time alone); the
  trainer passes that metric's direction as ``mode`` (``min``/``max``) and its value at each epoch.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Optional

from pydantic import Field

from ..strict import NonNegInt, Probability, StrictModel

if TYPE_CHECKING:
    import torch


class Schedule(StrictModel):
    """A learning-rate schedule, optionally after a linear warm-up."""
    warmup_epochs: NonNegInt = Field(0, description="Linear warm-up over this many epochs (in steps) first.")
    warmup_steps: NonNegInt = Field(0, description="Linear warm-up over this many optimizer steps first.")
    warmup_start: Probability = Field(0.0, description="Warm-up starts at this fraction of the lr.")
    interval: Optional[Literal["epoch", "step"]] = Field(None, description="When the schedule advances (default per type).")

    EXAMPLE: ClassVar[str] = ""
    #: advances after every optimizer step unless ``interval`` says otherwise (else after every epoch)
    per_batch: ClassVar[bool] = False

    def advances_per(self) -> str:
        """``step`` or ``epoch``: the spec's ``interval``, else the type's default."""
        return self.interval or ("step" if self.per_batch else "epoch")

    def monitored(self) -> Optional[str]:
        """The logged metric this schedule steps on (``val.loss``), or None."""
        return None

    @abstractmethod
    def build(self, optimizer: "torch.optim.Optimizer", intervals: int, mode: str = "min") -> Any:
        """The torch.optim.lr_scheduler over ``optimizer`` (None: the lr stays as it is)."""


def base_lrs(optimizer: Any) -> list[float]:
    """The optimizer's learning rate per parameter group (the default ``max_lr`` of cyclic schedules)."""
    return [group["lr"] for group in optimizer.param_groups]
