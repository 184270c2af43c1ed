"""The ``gaussian_blur`` augmentation."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from ..strict import PositiveFloat, PositiveInt
from .base import AUGMENTATIONS, Augmentation

if TYPE_CHECKING:
    from .base import Transform


@AUGMENTATIONS.register
class GaussianBlur(Augmentation):
    """With probability p, blur with a kernel_size × kernel_size Gaussian of standard deviation sigma
    (per channel, edges reflected)."""
    EXAMPLE: ClassVar[str] = "{type: gaussian_blur, kernel_size: 5, sigma: 1.0, p: 1.0}"
    geometric: ClassVar[bool] = False
    type: Literal["gaussian_blur"]
    kernel_size: PositiveInt = Field(3, description="Width and height of the kernel, in pixels (odd).")
    sigma: PositiveFloat = Field(1.0, description="Standard deviation of the Gaussian, in pixels.")
    p: float = Field(0.5, ge=0, le=1, description="Probability of blurring a sample (1: every sample).")

    @model_validator(mode="after")
    def _odd(self) -> GaussianBlur:
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (the kernel is centred on a pixel), got {self.kernel_size}")
        return self

    def transform(self) -> Transform:
        import torch
        import torch.nn.functional as F

        k, sigma, p = self.kernel_size, self.sigma, self.p

        def run(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
            n, c = x.shape[:2]
            offsets = torch.arange(k, device=x.device, dtype=x.dtype) - (k - 1) / 2
            g = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
            g = g / g.sum()
            kernel = (g[:, None] * g[None, :]).expand(c, 1, k, k)
            r = k // 2
            blurred = F.conv2d(F.pad(x, (r, r, r, r), mode="reflect"), kernel, groups=c)
            on = (torch.rand(n, generator=gen, device=x.device) < p).view(n, 1, 1, 1)
            return torch.where(on, blurred, x)
        return run
