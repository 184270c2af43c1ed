"""The ``affine`` augmentation (and the random affine map that ``rotation`` uses too)."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field

from ..strict import PositiveFloat
from .base import AUGMENTATIONS, Augmentation, Pair, uniform


def affine_transform(degrees: float, translate=(0.0, 0.0), scale=(1.0, 1.0), shear: float = 0.0):
    """Per sample: a uniform rotation in ±degrees, translation in ±translate (fractions of the size),
    scale in [scale[0], scale[1]] and shear in ±shear degrees; bilinear, zeros outside."""
    import torch
    import torch.nn.functional as F

    def run(x, gen):
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


@AUGMENTATIONS.register
class Affine(Augmentation):
    """Random affine map: rotation, translation (fraction of size), scale range, shear (degrees)."""
    EXAMPLE: ClassVar[str] = "{type: affine, degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1], shear: 5}"
    geometric: ClassVar[bool] = True
    type: Literal["affine"]
    degrees: float = Field(0.0, ge=0, description="Rotation by a uniform angle in [-degrees, degrees].")
    translate: Pair[float] = Field([0.0, 0.0], description="Largest shift (x, y) as a fraction of the width and height.")
    scale: Pair[PositiveFloat] = Field([1.0, 1.0], description="Scale factor range [low, high].")
    shear: float = Field(0.0, ge=0, description="Shear by a uniform angle in [-shear, shear] degrees.")

    def transform(self):
        return affine_transform(self.degrees, self.translate, self.scale, self.shear)
