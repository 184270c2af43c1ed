"""Learning-rate schedules: torch.optim.lr_scheduler classes behind one small interface, with an
optional linear warm-up in front of any of them.

``Schedule.step_batch()`` runs after every optimizer step and ``step_epoch(metrics)`` after every
epoch; the spec's ``interval`` (default per type: ``per_batch`` schedules per step, the others per
epoch) decides which of them advances the scheduler; a schedule that ``monitored()`` a metric steps
on its value at the end of each epoch. The schedule classes (``netspec.schedules``) build the torch
schedulers. During warm-up the lr rises linearly from ``warmup_start × lr`` to ``lr`` over the
warm-up steps and the scheduler waits; it starts from the full lr afterwards. ``state_dict`` is plain data (for checkpoints).
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from ..schedules import Schedule as ScheduleSpec


def _monitor_mode(metric: str) -> str:
    """``min`` or ``max``: the direction of a monitored metric (``val.accuracy`` is max)."""
    from ..programs.plan import monitor_mode

    return monitor_mode(metric)


class Schedule:
    """A scheduler (or none) plus warm-up; advance with ``step_batch`` / ``step_epoch``."""

    def __init__(self, spec: Optional[ScheduleSpec], opt: torch.optim.Optimizer, epochs: int, steps_per_epoch: int) -> None:
        self.spec, self.opt = spec, opt
        self.interval = spec.advances_per() if spec else "epoch"
        self.metric = spec.monitored() if spec else None  # the logged metric the scheduler steps on
        warm = (spec.warmup_steps + spec.warmup_epochs * steps_per_epoch) if spec else 0
        self.warmup, self.done = warm, 0
        self.epoch_start = 0  # ``done`` when the current epoch began (an epoch that warmed up does not step)
        self.base_lrs = [g["lr"] for g in opt.param_groups]
        if self.interval == "step":
            total = epochs * steps_per_epoch - warm
        else:
            total = epochs - (warm + steps_per_epoch - 1) // max(steps_per_epoch, 1)
        mode = _monitor_mode(self.metric) if self.metric else "min"
        self.scheduler = spec.build(opt, total, mode) if spec else None
        if warm:
            self._set_warm(0)

    def _set_warm(self, step: int) -> None:
        start = self.spec.warmup_start  # type: ignore[union-attr]
        frac = start + (1 - start) * min(step / self.warmup, 1.0)
        for g, base in zip(self.opt.param_groups, self.base_lrs):
            g["lr"] = base * frac

    def step_batch(self) -> None:
        if self.done < self.warmup:
            self.done += 1
            self._set_warm(self.done)
            return
        if self.scheduler is not None and self.interval == "step" and self.metric is None:
            self.scheduler.step()

    def step_epoch(self, metrics: dict[str, Any]) -> None:
        warming = self.epoch_start < self.warmup
        self.epoch_start = self.done
        if self.scheduler is None or warming:
            return
        if self.metric is not None:
            value = metrics.get(self.metric)
            if value is not None:
                self.scheduler.step(value)
        elif self.interval == "epoch":
            self.scheduler.step()

    def lr(self) -> float:
        return float(self.opt.param_groups[0]["lr"])

    def state_dict(self) -> dict[str, Any]:
        return {"done": self.done, "epoch_start": self.epoch_start,
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.done, self.epoch_start = state["done"], state.get("epoch_start", state["done"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
