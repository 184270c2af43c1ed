"""The ``crop`` augmentation."""

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from ..strict import PositiveInt
from .base import AUGMENTATIONS, Augmentation

if TYPE_CHECKING:
    from .base import Transform


@AUGMENTATIONS.register
class Crop(Augmentation):
    """Random crop of the image padded by `padding` pixels (zeros), back to the same size."""
    EXAMPLE: ClassVar[str] = "{type: crop, padding: 2}"
    geometric: ClassVar[bool] = True
    type: Literal["crop"]
    padding: PositiveInt = Field(2, description="Zero pixels added on each side before cropping.")

    def transform(self) -> "Transform":
        import torch
        import torch.nn.functional as F

        padding = self.padding

        def run(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
            n, _, h, w = x.shape
            padded = F.pad(x, (padding, padding, padding, padding))
            dy = torch.randint(0, 2 * padding + 1, (n,), generator=gen, device=x.device)
            dx = torch.randint(0, 2 * padding + 1, (n,), generator=gen, device=x.device)
            rows = (dy.view(n, 1) + torch.arange(h, device=x.device).view(1, h))  # (n, h)
            cols = (dx.view(n, 1) + torch.arange(w, device=x.device).view(1, w))  # (n, w)
            idx_r = rows.view(n, 1, h, 1).expand(n, x.shape[1], h, padded.shape[3])
            out = padded.gather(2, idx_r)
            idx_c = cols.view(n, 1, 1, w).expand(n, x.shape[1], h, w)
            return out.gather(3, idx_c)
        return run
