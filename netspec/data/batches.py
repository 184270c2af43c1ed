"""Batch iterators. Both yield dicts of tensors on the run's device, one batch at a time.

* ``DeviceBatches``: the whole split lives on the device as tensors; an epoch is a permutation
  drawn from the data generator, and a batch is an index into every field (no per-sample Python,
  no copies besides the gather).
* ``StreamBatches``: a DataLoader with workers and pinned memory over the same arrays, for data
  too large for the device; each worker gathers a whole batch with one NumPy fancy index.

Both draw their order from a ``torch.Generator`` whose state the checkpoint saves, so a resumed
run sees the same batches as an uninterrupted one. ``order(gen)`` and ``take(windows)`` split an
epoch into its two halves, so a distributed run can cut each batch window among its processes
(``netspec.train.distributed.sharding``) from the very same order.
"""

from __future__ import annotations

import math
from typing import Iterator, Optional

import numpy as np
import torch

Batch = dict[str, torch.Tensor]


def _order(n: int, gen: torch.Generator, mode: str, weights: Optional[torch.Tensor]) -> torch.Tensor:
    if mode == "weighted" and weights is not None:
        return torch.multinomial(weights, n, replacement=True, generator=gen)
    if mode == "sequential":
        return torch.arange(n, device=gen.device)
    return torch.randperm(n, generator=gen, device=gen.device)


class DeviceBatches:
    def __init__(self, arrays: dict[str, np.ndarray], device: torch.device, batch_size: int,
                 mode: str = "sequential", drop_last: bool = False, weights: Optional[np.ndarray] = None) -> None:
        self.tensors = {k: torch.as_tensor(v).to(device) for k, v in arrays.items()}
        self.num_samples = len(next(iter(arrays.values()))) if arrays else 0
        self.batch_size, self.mode, self.drop_last = batch_size, mode, drop_last
        self.weights = torch.as_tensor(weights, dtype=torch.float64).to(device) if weights is not None else None

    def __len__(self) -> int:
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else math.ceil(n / b)

    def order(self, gen: Optional[torch.Generator] = None) -> torch.Tensor:
        """This epoch's sample order (drawn from ``gen`` unless sequential)."""
        if self.mode == "sequential" or gen is None:
            device = next(iter(self.tensors.values())).device if self.tensors else None
            return torch.arange(self.num_samples, device=device)
        return _order(self.num_samples, gen, self.mode, self.weights)

    def take(self, windows: list[torch.Tensor]) -> Iterator[Batch]:
        """One batch per window of sample indices."""
        for idx in windows:
            yield {k: v.index_select(0, idx) for k, v in self.tensors.items()}

    def epoch(self, gen: Optional[torch.Generator] = None) -> Iterator[Batch]:
        b = self.batch_size
        if self.mode == "sequential" or gen is None:
            for start in range(0, len(self) * b, b):
                yield {k: v[start: start + b] for k, v in self.tensors.items()}
            return
        order = self.order(gen)
        yield from self.take([order[start: start + b] for start in range(0, len(self) * b, b)])


class _BatchGather(torch.utils.data.Dataset):
    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))

    def __getitem__(self, idx):  # idx: an array of sample indices (one batch)
        return {k: torch.from_numpy(np.ascontiguousarray(v[idx])) for k, v in self.arrays.items()}


class StreamBatches:
    def __init__(self, arrays: dict[str, np.ndarray], device: torch.device, batch_size: int, mode: str = "sequential",
                 drop_last: bool = False, weights: Optional[np.ndarray] = None, num_workers: int = 2,
                 pin_memory: bool = True) -> None:
        self.arrays, self.device, self.batch_size = arrays, device, batch_size
        self.mode, self.drop_last = mode, drop_last
        self.weights = torch.as_tensor(weights, dtype=torch.float64) if weights is not None else None
        self.num_samples = len(next(iter(arrays.values()))) if arrays else 0
        self.num_workers = num_workers
        self.pin = pin_memory and device.type == "cuda"

    def __len__(self) -> int:
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else math.ceil(n / b)

    def order(self, gen: Optional[torch.Generator] = None) -> np.ndarray:
        """This epoch's sample order (drawn from ``gen`` unless sequential)."""
        n = self.num_samples
        if self.mode == "sequential" or gen is None:
            return np.arange(n)
        cpu = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen, device=gen.device)))
        return _order(n, cpu, self.mode, self.weights).numpy()

    def take(self, windows: list[np.ndarray]) -> Iterator[Batch]:
        """One batch per window of sample indices, gathered by the DataLoader's workers."""
        loader = torch.utils.data.DataLoader(_BatchGather(self.arrays), sampler=windows, batch_size=None,
                                             num_workers=self.num_workers, pin_memory=self.pin,
                                             persistent_workers=False)
        for batch in loader:
            yield {k: v.to(self.device, non_blocking=self.pin) for k, v in batch.items()}

    def epoch(self, gen: Optional[torch.Generator] = None) -> Iterator[Batch]:
        order, b = self.order(gen), self.batch_size
        yield from self.take([order[s: s + b] for s in range(0, len(self) * b, b)])
