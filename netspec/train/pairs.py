"""Partners for contrastive training, drawn on the device from a labelled pool.

``PartnerSampler(labels)`` sorts the pool's sample indices by label once; then, for a batch of
anchor labels, ``same(y, gen)`` draws for each anchor a uniformly random pool sample of the same
class and ``other(y, gen)`` one of any other class (uniform over those samples). Both are a few
vectorized tensor operations with a seeded ``torch.Generator`` (no Python loop per sample).
"""

from __future__ import annotations

import torch

from ..errors import DataError


class PartnerSampler:
    def __init__(self, labels: torch.Tensor) -> None:
        labels = labels.reshape(-1).long()
        self.order = torch.argsort(labels, stable=True)
        self.classes, counts = torch.unique_consecutive(labels[self.order], return_counts=True)
        if len(self.classes) < 2:
            raise DataError("contrastive training needs at least two classes in the labels", path=("data", "source"),
                            hint="pairs and triplets need samples of different classes")
        self.counts = counts
        self.starts = torch.cumsum(counts, 0) - counts
        self.size = len(labels)

    def _class(self, y: torch.Tensor) -> torch.Tensor:
        """Class positions of the anchors' labels (anchors come from the pool itself)."""
        return torch.searchsorted(self.classes, y.reshape(-1).long().contiguous())

    def _uniform(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return torch.rand(n, generator=gen, device=gen.device).to(self.order.device, torch.float64)

    def same(self, y: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Pool indices of a random sample with each anchor's label."""
        c = self._class(y)
        offset = (self._uniform(len(c), gen) * self.counts[c]).long().clamp(max=self.counts[c] - 1)
        return self.order[self.starts[c] + offset]

    def other(self, y: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Pool indices of a random sample with any other label."""
        c = self._class(y)
        rest = self.size - self.counts[c]
        j = (self._uniform(len(c), gen) * rest).long().clamp(max=rest - 1)
        j = j + (j >= self.starts[c]).long() * self.counts[c]  # skip the anchor's class block
        return self.order[j]
