"""The shared update machinery every program uses: ``Updater.update(name, loss)``.

A program computes a loss for a model and hands it here; the updater adds the L1/L2 penalty,
scales for fp16, accumulates gradients over ``accumulate`` micro-batches, then unscales, clips
(norm / value / AGC), steps the optimizer, zeroes the gradients, applies max-norm constraints and
advances the lr schedule. One ``Slot`` per model holds its optimizer, schedule and hooks, so
multi-model programs (GANs: generator and discriminator) step each model on their own terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import torch

from .runtime import Precision
from .schedules import Schedule


@dataclass
class Slot:
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    penalty: Optional[Callable[[], torch.Tensor]] = None
    clip: Optional[Callable[[], object]] = None
    constrain: Optional[Callable[[], None]] = None
    micro: int = 0  # micro-batches accumulated since the last optimizer step
    steps: int = 0  # optimizer steps taken


class Updater:
    def __init__(self, slots: dict[str, Slot], precision: Precision, accumulate: int = 1) -> None:
        self.slots, self.precision, self.accumulate = slots, precision, accumulate
        self.scaler = precision.scaler
        self.guard = None  # reliability: train.nonfinite (guard.py) checks losses and gradients before a step

    def autocast(self):
        return self.precision.autocast()

    def update(self, name: Union[str, Sequence[str]], loss: torch.Tensor) -> bool:
        """Backward ``loss`` for model ``name`` (or one loss for several models, e.g. a VAE's encoder
        and decoder: one backward pass); step the optimizer(s) every ``accumulate`` calls. Returns
        whether the optimizer(s) stepped."""
        names = (name,) if isinstance(name, str) else tuple(name)
        slots = [self.slots[n] for n in names]
        if not loss.requires_grad:  # everything frozen (until an unfreeze epoch)
            return False
        if self.guard is not None:
            self.guard.watch(names, loss)
        for slot in slots:
            if slot.penalty is not None:
                loss = loss + slot.penalty()
        if self.accumulate > 1:
            loss = loss / self.accumulate
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()
        stepped = False
        for n, slot in zip(names, slots):
            slot.micro += 1
            if slot.micro >= self.accumulate:
                self.step(n, update_scale=False)
                stepped = True
        if stepped and self.scaler is not None:
            self.scaler.update()  # once per backward pass, after every optimizer it scaled
        return stepped

    def step(self, name: str, update_scale: bool = True) -> None:
        """Take the optimizer step now (also used to flush a partial accumulation at epoch end)."""
        slot = self.slots[name]
        if slot.micro == 0:
            return
        if self.guard is not None and not self.guard.allow(name, slot):  # train.nonfinite: skip this step
            slot.optimizer.zero_grad(set_to_none=True)
            slot.micro = 0
            return
        if slot.clip is not None:
            if self.scaler is not None:
                self.scaler.unscale_(slot.optimizer)
            slot.clip()
        if self.scaler is not None:
            self.scaler.step(slot.optimizer)
            if update_scale:
                self.scaler.update()
        else:
            slot.optimizer.step()
        slot.optimizer.zero_grad(set_to_none=True)
        if slot.constrain is not None:
            slot.constrain()
        slot.schedule.step_batch()
        slot.micro = 0
        slot.steps += 1

    def flush(self) -> None:
        pending = [name for name, slot in self.slots.items() if slot.micro]
        for name in pending:
            self.step(name, update_scale=False)
        if pending and self.scaler is not None:
            self.scaler.update()
