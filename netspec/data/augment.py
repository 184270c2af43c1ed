"""Image augmentation on batches of tensors (N, C, H, W), train split only.

Each augmentation is a class in ``netspec.augmentations`` that builds its own transform (torch ops,
torchvision is not a dependency): per-sample random parameters come from the run's data generator,
so augmentation is seeded and resumable, and runs on the device the batch lives on, with no
per-sample Python. ``Augment`` composes them over the image fields of a batch.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..augmentations import AUGMENTATIONS

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def build(spec) -> Transform:
    """One augmentation spec -> a transform of an image batch (an unregistered one raises)."""
    return AUGMENTATIONS.of(spec).transform(spec)


class Augment:
    """The augmentation pipeline applied to the image fields of a train batch."""

    def __init__(self, specs: list, fields: list[str]) -> None:
        self.transforms = [build(s) for s in specs]
        self.fields = fields

    def __bool__(self) -> bool:
        return bool(self.transforms and self.fields)

    def __call__(self, batch: dict[str, torch.Tensor], gen: torch.Generator) -> dict[str, torch.Tensor]:
        out = dict(batch)
        for name in self.fields:
            x = out[name]
            for t in self.transforms:
                x = t(x, gen)
            out[name] = x
        return out
