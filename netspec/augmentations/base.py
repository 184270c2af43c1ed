"""The augmentation registry and the interface every augmentation implements (no torch at import).

An augmentation is one pydantic class registered with ``@AUGMENTATIONS.register``: its tag and
arguments are the schema of a ``data.augment`` item, its docstring the documentation, ``EXAMPLE`` a
YAML flow mapping for the docs and the registry-wide test, ``geometric`` its planning rule (it moves
pixels, so a per-pixel mask would no longer match: the segmentation program refuses it), and
``transform()`` builds the torch function that runs it.

Where it runs: on the image fields of each *train* batch, (N, C, H, W) tensors on the batch's
device, after preprocessing; every random parameter is drawn per sample from the run's data
generator (``torch.Generator``), so augmentation is seeded and resumes exactly, with no per-sample
Python (``netspec.data.augment.Augment`` composes the transforms).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from ..registry import Registry
from ..strict import StrictModel

if TYPE_CHECKING:  # pragma: no cover
    import torch

    Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]




class Augmentation(StrictModel):
    """An image augmentation of train batches."""

    EXAMPLE: ClassVar[str]
    #: moves pixels (flips, crops, affine maps, erasing): refused where a per-pixel target must follow the image
    geometric: ClassVar[bool]

    @abstractmethod
    def transform(self) -> Transform:
        """The function ``(batch (N, C, H, W), generator) -> batch`` (torch imported inside)."""


AUGMENTATIONS: Registry[type[Augmentation]] = Registry("augmentation")


def uniform(n: int, lo: float, hi: float, like: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """``n`` draws from U(lo, hi) on ``like``'s device."""
    import torch

    return torch.rand(n, generator=gen, device=like.device) * (hi - lo) + lo


def flip(p: float, dim: int) -> Transform:
    """Mirror along ``dim`` each sample with probability ``p``."""
    import torch

    def run(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        mask = (torch.rand(x.shape[0], generator=gen, device=x.device) < p).view(-1, 1, 1, 1)
        return torch.where(mask, x.flip(dim), x)
    return run


def affine_transform(degrees: float, translate: Sequence[float] = (0.0, 0.0), scale: Sequence[float] = (1.0, 1.0),
                     shear: float = 0.0) -> Transform:
    """Per sample (``affine`` and ``rotation``): a uniform rotation in ±degrees, translation in ±translate (fractions of the size),
    scale in [scale[0], scale[1]] and shear in ±shear degrees; bilinear, zeros outside."""
    import torch
    import torch.nn.functional as F

    def run(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n = x.shape[0]
        angle = uniform(n, -degrees, degrees, x, gen) * (math.pi / 180)
        s = uniform(n, scale[0], scale[1], x, gen)
        sh = uniform(n, -shear, shear, x, gen) * (math.pi / 180)
        tx = uniform(n, -translate[0], translate[0], x, gen) * 2
        ty = uniform(n, -translate[1], translate[1], x, gen) * 2
        cos, sin = torch.cos(angle), torch.sin(angle)
        # inverse map (output -> input coordinates), as affine_grid expects
        a, b = cos / s, (sin + torch.tan(sh) * cos) / s
        c, d = -sin / s, (cos - torch.tan(sh) * sin) / s
        theta = torch.stack([torch.stack([a, b, tx], 1), torch.stack([c, d, ty], 1)], 1).to(x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return run
