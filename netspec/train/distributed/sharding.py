"""Each rank's share of every batch.

The spec's ``batch_size`` is the GLOBAL batch. Every rank draws the same epoch order from the
shared, seeded data generator (same seed, same draws), cuts it into the same global batch
windows a single process would use, and takes its own contiguous part of each window: the
parts are disjoint and together they are exactly the single-process batch. A last window with
fewer samples than there are ranks joins the window before it (no rank gets an empty batch).

``BatchShare`` tells the gradient hook which fraction of the current global batch this rank
holds, so that averaging gradients across ranks weights each by its samples (an uneven last
batch averages like the single-process batch). Augmentation, when the spec has it, runs here on
the rank's own part, with a rank-specific generator reseeded every epoch from the shared one.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import numpy as np
import torch

from ...errors import TrainError


class BatchShare:
    """This rank's samples / the global batch's samples, for the batch being trained."""

    def __init__(self, world_size: int) -> None:
        self.value = 1.0 / world_size


class ShardedBatches:
    """A batch iterator (DeviceBatches or StreamBatches built with the global batch size) cut
    among ``world_size`` ranks; this rank's part of each window."""

    def __init__(self, base: Any, rank: int, world_size: int, share: Optional[BatchShare] = None,
                 augment: Optional[Callable] = None) -> None:
        self.base, self.rank, self.world_size = base, rank, world_size
        self.share, self.augment = share, augment
        self.num_samples = base.num_samples  # the whole split, as in a single-process run
        self.batch_size = base.batch_size
        self.aug_gen: Optional[torch.Generator] = None

    def _bounds(self) -> list[tuple[int, int]]:
        n, b, w = self.base.num_samples, self.base.batch_size, self.world_size
        bounds = [(s, min(s + b, n)) for s in range(0, len(self.base) * b, b)]
        if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < w:
            bounds[-2:] = [(bounds[-2][0], bounds[-1][1])]
        return bounds

    def __len__(self) -> int:
        return len(self._bounds())

    def epoch(self, gen: Optional[torch.Generator] = None) -> Iterator[dict[str, torch.Tensor]]:
        order = self.base.order(gen)
        if self.augment is not None and gen is not None:
            self._reseed_augment(gen)
        windows, sizes = [], []
        for lo, hi in self._bounds():
            window = order[lo:hi]
            if len(window) < self.world_size:
                raise TrainError(f"a batch of {len(window)} sample(s) cannot be shared by {self.world_size} processes",
                                 path=("train", "batch_size"), hint="use more data or fewer processes")
            part = torch.tensor_split(window, self.world_size)[self.rank] if isinstance(window, torch.Tensor) \
                else np.array_split(window, self.world_size)[self.rank]
            windows.append(part)
            sizes.append((len(part), len(window)))
        for batch, (mine, total) in zip(self.base.take(windows), sizes):
            if self.share is not None:
                self.share.value = mine / total
            if self.augment is not None and self.aug_gen is not None:
                batch = self.augment(batch, self.aug_gen)
            yield batch

    def _reseed_augment(self, gen: torch.Generator) -> None:
        seed = int(torch.randint(0, 2**62, (1,), generator=gen, device=gen.device))
        if self.aug_gen is None:
            self.aug_gen = torch.Generator(device=gen.device)
        self.aug_gen.manual_seed((seed + 104_729 * self.rank) % 2**62)


def shard_loaders(bundle: Any, rank: int, world_size: int, batch_size: int, share: BatchShare) -> None:
    """Replace the bundle's loaders by this rank's shares; augmentation moves into the train loader
    (so the loop's shared generator is only used for the order, identically on every rank)."""
    if batch_size % world_size:
        raise TrainError(f"batch_size {batch_size} is the global batch and must divide evenly among {world_size} "
                         f"processes", path=("train", "batch_size"),
                         hint=f"use a multiple of {world_size}, e.g. {batch_size - batch_size % world_size or world_size}")
    for split, loader in list(bundle.loaders.items()):
        if loader.num_samples == 0:
            continue
        if loader.num_samples < world_size:
            raise TrainError(f"the {split} split has {loader.num_samples} sample(s), fewer than the {world_size} processes",
                             path=("data", "split"), hint="use more data or fewer processes")
        train = split == "train"
        bundle.loaders[split] = ShardedBatches(loader, rank, world_size, share if train else None,
                                               bundle.augment if train else None)
    bundle.augment = None
