"""``Means``: running means of named scalars (losses, rates) for the programs that log more than
one number per step. Sums stay on the device; ``compute()`` reads them once and resets."""

from __future__ import annotations

from typing import Callable, Optional

import torch


class Means:
    """``add(name, value, n)`` accumulates a batch mean weighted by its ``n`` samples; ``compute()``
    returns {name: mean} (as floats) and starts over; ``on_compute`` runs first (e.g. a k-NN pass
    that adds its own figure, or a reset of an evaluation-only sampler)."""

    def __init__(self, on_compute: Optional[Callable[[], dict[str, float]]] = None) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}
        self.on_compute = on_compute

    def add(self, name: str, value: torch.Tensor, n: int = 1) -> None:
        v = value.detach().float() * n
        self.sums[name] = self.sums[name] + v if name in self.sums else v
        self.counts[name] = self.counts.get(name, 0) + n

    def compute(self) -> dict[str, float]:
        self._reduce()
        out = {k: float(v / max(self.counts[k], 1)) for k, v in self.sums.items()}
        if self.on_compute is not None:
            out.update(self.on_compute())
        self.sums, self.counts = {}, {}
        return out

    def _reduce(self) -> None:
        """In a distributed run, sum every rank's sums and counts (each saw its share of the data)."""
        import torch.distributed as dist

        if not self.sums or not (dist.is_available() and dist.is_initialized()):
            return
        keys = list(self.sums)  # the same order on every rank (the same program code added them)
        device = self.sums[keys[0]].device
        t = torch.stack([self.sums[k].reshape(()).double() for k in keys]
                        + [torch.tensor(float(self.counts[k]), dtype=torch.float64, device=device) for k in keys])
        dist.all_reduce(t)
        self.sums = {k: t[i] for i, k in enumerate(keys)}
        self.counts = {k: int(t[len(keys) + i]) for i, k in enumerate(keys)}
