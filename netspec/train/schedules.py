"""Learning-rate schedules: torch.optim.lr_scheduler classes behind one small interface, with an
optional linear warm-up in front of any of them.

``Schedule.step_batch()`` runs after every optimizer step and ``step_epoch(metrics)`` after every
epoch; the spec's ``interval`` (default per type: one_cycle and cyclic per step, the others per
epoch) decides which of them advances the scheduler. During warm-up the lr rises linearly from
``warmup_start × lr`` to ``lr`` over the warm-up steps and the scheduler waits; it starts from the
full lr afterwards. ``state_dict`` is plain data (for checkpoints).
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch.optim import lr_scheduler as S

STEP_WISE = ("one_cycle", "cyclic")


def _scheduler(spec: Any, opt: torch.optim.Optimizer, intervals: int) -> Optional[Any]:
    t = spec.type
    if t == "constant":
        return None
    if t == "step":
        return S.StepLR(opt, spec.step_size, spec.gamma)
    if t == "multistep":
        return S.MultiStepLR(opt, spec.milestones, spec.gamma)
    if t == "exponential":
        return S.ExponentialLR(opt, spec.gamma)
    if t == "cosine":
        return S.CosineAnnealingLR(opt, spec.t_max or max(intervals, 1), spec.eta_min)
    if t == "cosine_warm_restarts":
        return S.CosineAnnealingWarmRestarts(opt, spec.t_0, spec.t_mult, spec.eta_min)
    base = [g["lr"] for g in opt.param_groups]
    if t == "one_cycle":
        return S.OneCycleLR(opt, max_lr=spec.max_lr or base, total_steps=max(intervals, 2), pct_start=spec.pct_start,
                            anneal_strategy=spec.anneal_strategy, div_factor=spec.div_factor,
                            final_div_factor=spec.final_div_factor, cycle_momentum=False)
    if t == "cyclic":
        return S.CyclicLR(opt, base_lr=spec.base_lr, max_lr=spec.max_lr or base, step_size_up=spec.step_size_up,
                          mode=spec.mode, gamma=spec.gamma, cycle_momentum=False)
    return S.ReduceLROnPlateau(opt, mode=spec.mode if spec.mode != "auto" else _plateau_mode(spec.monitor),
                               factor=spec.factor, patience=spec.patience, threshold=spec.threshold, min_lr=spec.min_lr)


def _plateau_mode(monitor: str) -> str:
    from ..spec.plan import monitor_mode

    return monitor_mode(monitor)


class Schedule:
    """A scheduler (or none) plus warm-up; advance with ``step_batch`` / ``step_epoch``."""

    def __init__(self, spec: Any, opt: torch.optim.Optimizer, epochs: int, steps_per_epoch: int) -> None:
        self.spec, self.opt = spec, opt
        self.interval = (spec.interval or ("step" if spec.type in STEP_WISE else "epoch")) if spec else "epoch"
        warm = (spec.warmup_steps + spec.warmup_epochs * steps_per_epoch) if spec else 0
        self.warmup, self.done = warm, 0
        self.epoch_start = 0  # ``done`` when the current epoch began (an epoch that warmed up does not step)
        self.base_lrs = [g["lr"] for g in opt.param_groups]
        total = epochs * steps_per_epoch - warm if self.interval == "step" else epochs - (warm + steps_per_epoch - 1) // max(steps_per_epoch, 1)
        self.scheduler = _scheduler(spec, opt, total) if spec else None
        if warm:
            self._set_warm(0)

    @property
    def plateau(self) -> bool:
        return isinstance(self.scheduler, S.ReduceLROnPlateau)

    def _set_warm(self, step: int) -> None:
        start = self.spec.warmup_start
        frac = start + (1 - start) * min(step / self.warmup, 1.0)
        for g, base in zip(self.opt.param_groups, self.base_lrs):
            g["lr"] = base * frac

    def step_batch(self) -> None:
        if self.done < self.warmup:
            self.done += 1
            self._set_warm(self.done)
            return
        if self.scheduler is not None and self.interval == "step" and not self.plateau:
            self.scheduler.step()

    def step_epoch(self, metrics: dict[str, Any]) -> None:
        warming = self.epoch_start < self.warmup
        self.epoch_start = self.done
        if self.scheduler is None or warming:
            return
        if self.plateau:
            value = metrics.get(self.spec.monitor)
            if value is not None:
                self.scheduler.step(value)
        elif self.interval == "epoch":
            self.scheduler.step()

    def lr(self) -> float:
        return float(self.opt.param_groups[0]["lr"])

    def state_dict(self) -> dict[str, Any]:
        return {"done": self.done, "epoch_start": self.epoch_start, "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.done, self.epoch_start = state["done"], state.get("epoch_start", state["done"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
