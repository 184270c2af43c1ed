"""The ``color_jitter`` augmentation."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from .base import AUGMENTATIONS, Augmentation, uniform

if TYPE_CHECKING:
    import torch

    from .base import Transform


def gray(x: torch.Tensor) -> torch.Tensor:
    """Luma (ITU-R 601) of an RGB batch, the channel mean otherwise: (N, 1, H, W)."""
    import torch

    if x.shape[1] == 3:
        w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x * w).sum(1, keepdim=True)
    return x.mean(1, keepdim=True)


@AUGMENTATIONS.register
class ColorJitter(Augmentation):
    """Random brightness, contrast, saturation (factors in [1-x, 1+x]) and hue shift (in [-hue, hue] turns)."""
    EXAMPLE: ClassVar[str] = "{type: color_jitter, brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.05}"
    geometric: ClassVar[bool] = False
    type: Literal["color_jitter"]
    brightness: float = Field(0.0, ge=0, description="Multiply by a factor in [1 - brightness, 1 + brightness].")
    contrast: float = Field(0.0, ge=0, description="Scale the distance from the mean gray by a factor in [1 - contrast, 1 + contrast].")
    saturation: float = Field(0.0, ge=0, description="RGB: scale the distance from gray by a factor in [1 - saturation, 1 + saturation].")
    hue: float = Field(0.0, ge=0, le=0.5, description="RGB: rotate the hue by up to this many turns (in YIQ space).")

    def transform(self) -> Transform:
        import torch

        spec = self

        def run(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
            n = x.shape[0]
            if spec.brightness:
                x = x * uniform(n, 1 - spec.brightness, 1 + spec.brightness, x, gen).view(n, 1, 1, 1)
            if spec.contrast:
                mean = gray(x).mean((1, 2, 3), keepdim=True)
                x = (x - mean) * uniform(n, 1 - spec.contrast, 1 + spec.contrast, x, gen).view(n, 1, 1, 1) + mean
            if spec.saturation and x.shape[1] == 3:
                g = gray(x)
                x = (x - g) * uniform(n, 1 - spec.saturation, 1 + spec.saturation, x, gen).view(n, 1, 1, 1) + g
            if spec.hue and x.shape[1] == 3:  # rotate chroma in YIQ space
                to = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], device=x.device)
                back = torch.linalg.inv(to)
                t = uniform(n, -spec.hue, spec.hue, x, gen) * 2 * math.pi
                rot = torch.zeros(n, 3, 3, device=x.device)
                rot[:, 0, 0] = 1
                rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = t.cos(), -t.sin(), t.sin(), t.cos()
                m = back @ rot @ to  # (n, 3, 3)
                x = torch.einsum("nij,njhw->nihw", m.to(x.dtype), x)
            return x
        return run
