"""Batch iterators. Both yield dicts of tensors on the run's device, one batch at a time.

* ``DeviceBatches``: the whole split lives on the device as tensors; an epoch is a permutation
  drawn from the data generator, and a batch is an index into every field (no per-sample Python,
  no copies besides the gather).
* ``StreamBatches``: a DataLoader with workers and pinned memory over the same arrays, for data
  too large for the device; each worker gathers a whole batch with one NumPy fancy index, or reads
  its rows from a lazy field (``netspec.data.lazy``: images decoded, token windows sliced from a
  memory-mapped file) so that only a batch is ever in memory.

``prepare`` (both) finishes a batch on the device: uint8 images become normalized floats there.

Both draw their order from a ``torch.Generator`` whose state the checkpoint saves, so a resumed
run sees the same batches as an uninterrupted one. ``order(gen)`` and ``take(windows)`` split an
epoch into its two halves, so a distributed run can cut each batch window among its processes
(``netspec.train.distributed.sharding``) from the very same order.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Optional

import numpy as np
import torch

from .lazy import LazyField, SampleFault, is_lazy

Batch = dict[str, torch.Tensor]
Prepare = Callable[[Batch], Batch]  # on the device: uint8 images to normalized floats (Preprocessor.on_device)


def _order(n: int, gen: torch.Generator, mode: str, weights: Optional[torch.Tensor]) -> torch.Tensor:
    if mode == "weighted" and weights is not None:
        return torch.multinomial(weights, n, replacement=True, generator=gen)
    if mode == "sequential":
        return torch.arange(n, device=gen.device)
    return torch.randperm(n, generator=gen, device=gen.device)


class DeviceBatches:
    def __init__(self, arrays: dict[str, np.ndarray], device: torch.device, batch_size: int,
                 mode: str = "sequential", drop_last: bool = False, weights: Optional[np.ndarray] = None,
                 prepare: Optional[Prepare] = None) -> None:
        self.tensors = {k: torch.as_tensor(np.asarray(v)).to(device) for k, v in arrays.items()}
        self.prepare = prepare
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
            yield self._ready({k: v.index_select(0, idx) for k, v in self.tensors.items()})

    def _ready(self, batch: Batch) -> Batch:
        return self.prepare(batch) if self.prepare is not None else batch

    def epoch(self, gen: Optional[torch.Generator] = None) -> Iterator[Batch]:
        b = self.batch_size
        if self.mode == "sequential" or gen is None:
            for start in range(0, len(self) * b, b):
                yield self._ready({k: v[start: start + b] for k, v in self.tensors.items()})
            return
        order = self.order(gen)
        yield from self.take([order[start: start + b] for start in range(0, len(self) * b, b)])


class _BatchGather(torch.utils.data.Dataset):
    """One batch per index window, read where the DataLoader runs it (a worker process): lazy fields
    decode or slice just these rows. Returns (batch, faults): a sample that cannot be read comes
    back as a fault (an error, or under skip its row is left out of every field), never as an
    exception from inside the worker."""

    def __init__(self, arrays: dict[str, Any], skip: bool = False) -> None:
        self.arrays, self.skip = arrays, skip

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))

    def __getitem__(self, idx):  # idx: an array of sample indices (one batch)
        idx = np.asarray(idx, np.int64)
        out: dict[str, np.ndarray] = {}
        faults: list[tuple[int, SampleFault]] = []
        for k, v in self.arrays.items():
            if not is_lazy(v):
                out[k] = v[idx]
                continue
            try:
                out[k], bad = v.read(idx, self.skip)
            except SampleFault as fault:
                return {}, [(-1, fault)]
            faults += bad
        if faults:
            keep = np.ones(len(idx), bool)
            keep[[pos for pos, _ in faults]] = False
            out = {k: v[keep] for k, v in out.items()}
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in out.items()}, faults


class StreamBatches:
    def __init__(self, arrays: dict[str, np.ndarray], device: torch.device, batch_size: int, mode: str = "sequential",
                 drop_last: bool = False, weights: Optional[np.ndarray] = None, num_workers: int = 2,
                 pin_memory: bool = True, prepare: Optional[Prepare] = None,
                 faults: Optional[Callable[[SampleFault, bool], None]] = None, skip: bool = False) -> None:
        self.arrays, self.device, self.batch_size = arrays, device, batch_size
        self.prepare, self.faults, self.skip = prepare, faults, skip
        self.mode, self.drop_last = mode, drop_last
        self.weights = torch.as_tensor(weights, dtype=torch.float64) if weights is not None else None
        self.num_samples = len(next(iter(arrays.values()))) if arrays else 0
        self.num_workers = num_workers
        lazy = [v for v in arrays.values() if is_lazy(v)]
        self.cheap = bool(lazy) and all(v.cheap for v in lazy)  # slices of a memory map: gathered here, no workers
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
        workers = self.num_workers if len(windows) > 1 else 0  # one batch: no worker start-up
        gather = _BatchGather(self.arrays, self.skip)
        loader: Any = (gather[w] for w in windows) if self.cheap else torch.utils.data.DataLoader(  # cheap: gathered here
            gather, sampler=windows, batch_size=None, num_workers=workers, pin_memory=self.pin, persistent_workers=False)
        for batch, faults in loader:
            for pos, fault in faults:  # an error raises here, in the main process; a skip is counted
                if self.faults is None:
                    raise fault
                self.faults(fault, pos >= 0)
            if not batch or not len(next(iter(batch.values()))):
                continue  # every sample of this batch was left out
            out = {k: v.to(self.device, non_blocking=self.pin) for k, v in batch.items()}
            yield self.prepare(out) if self.prepare is not None else out

    def epoch(self, gen: Optional[torch.Generator] = None) -> Iterator[Batch]:
        order, b = self.order(gen), self.batch_size
        yield from self.take([order[s: s + b] for s in range(0, len(self) * b, b)])


class _Chunks(torch.utils.data.Dataset):
    """Consecutive chunks of rows of a lazy field, read in a worker: (start, rows, faults)."""

    def __init__(self, field: LazyField, skip: bool, chunk: int) -> None:
        self.field, self.skip, self.chunk = field, skip, chunk

    def __len__(self) -> int:
        return -(-len(self.field) // self.chunk)

    def __getitem__(self, k: int) -> tuple[int, np.ndarray, list]:
        index = np.arange(k * self.chunk, min((k + 1) * self.chunk, len(self.field)))
        try:
            rows, bad = self.field.read(index, self.skip)
        except SampleFault as fault:
            return k * self.chunk, np.zeros((0,) + self.field.sample_shape, self.field.dtype), [(-1, fault)]
        return k * self.chunk, rows, bad


def _as_is(item: Any) -> Any:
    return item


def read_in_workers(field: LazyField, workers: int, skip: bool, chunk: int = 64) -> Iterator[tuple[int, np.ndarray, list]]:
    """Yield (start, rows, faults) over every row in order, read by ``workers`` DataLoader processes;
    an unreadable sample raises (without ``skip``)."""
    loader = torch.utils.data.DataLoader(_Chunks(field, skip, chunk), batch_size=None, num_workers=workers,
                                         collate_fn=_as_is)
    for start, rows, bad in loader:
        for pos, fault in bad:
            if pos < 0:
                raise fault
        yield start, rows, bad
