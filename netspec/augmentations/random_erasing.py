"""The ``random_erasing`` augmentation."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from ..strict import Pair, PositiveFloat, Probability
from .base import AUGMENTATIONS, Augmentation, uniform

if TYPE_CHECKING:
    from .base import Transform


@AUGMENTATIONS.register
class RandomErasing(Augmentation):
    """With probability p, set a random rectangle (area share in `scale`) to `value`."""
    EXAMPLE: ClassVar[str] = "{type: random_erasing, p: 0.5, scale: [0.02, 0.33], ratio: [0.3, 3.3], value: 0.0}"
    geometric: ClassVar[bool] = True
    type: Literal["random_erasing"]
    p: Probability = Field(0.5, description="Probability of erasing a rectangle in a sample.")
    scale: Pair[PositiveFloat] = Field([0.02, 0.33], description="Range of the rectangle's area as a share of the image.")
    ratio: Pair[PositiveFloat] = Field([0.3, 3.3], description="Range of the rectangle's aspect ratio (log-uniform).")
    value: float = Field(0.0, description="The value written into the rectangle.")

    def transform(self) -> Transform:
        import torch

        spec = self

        def run(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
            n, _, h, w = x.shape
            area = uniform(n, spec.scale[0], spec.scale[1], x, gen) * h * w
            ratio = torch.exp(uniform(n, math.log(spec.ratio[0]), math.log(spec.ratio[1]), x, gen))
            eh = torch.sqrt(area * ratio).clamp(1, h).floor()
            ew = torch.sqrt(area / ratio).clamp(1, w).floor()
            top = (torch.rand(n, generator=gen, device=x.device) * (h - eh + 1)).floor()
            left = (torch.rand(n, generator=gen, device=x.device) * (w - ew + 1)).floor()
            on = torch.rand(n, generator=gen, device=x.device) < spec.p
            r = torch.arange(h, device=x.device).view(1, h, 1)
            c = torch.arange(w, device=x.device).view(1, 1, w)
            box = ((r >= top.view(n, 1, 1)) & (r < (top + eh).view(n, 1, 1)) & (c >= left.view(n, 1, 1))
                   & (c < (left + ew).view(n, 1, 1)) & on.view(n, 1, 1))
            return x.masked_fill(box.unsqueeze(1), spec.value)
        return run
