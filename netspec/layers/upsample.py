"""Fixed (parameter-free) upsampling: interpolation and sub-pixel rearrangement."""

import math
from typing import TYPE_CHECKING, Literal, Optional, Sequence, TypeVar, Union

from pydantic import Field, model_validator

from ..errors import ShapeError
from ..strict import PositiveFloat, PositiveInt
from .base import Example, Layer
from .registry import register
from .shapes import Dim, Shape, expect_rank, expect_static, fmt_shape, numel, tuple_n

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

#: interpolation mode -> the per-sample ranks it accepts (channels + spatial axes)
MODE_RANKS = {
    "nearest": (2, 3, 4), "nearest-exact": (2, 3, 4), "linear": (2,), "bilinear": (3,), "bicubic": (3,),
    "trilinear": (4,),
}
#: input points each output element reads (FLOPs = 2 per point)
N = TypeVar("N", int, float)
MODE_POINTS = {"linear": 2, "bilinear": 4, "bicubic": 16, "trilinear": 8}
LAYOUTS = {2: "(C, L)", 3: "(C, H, W)", 4: "(C, D, H, W)"}


@register
class Upsample(Layer):
    """(C, *spatial) → (C, *spatial'): interpolates to `size`, or scales every spatial axis by `scale_factor`.

    Each output axis is ⌊L·scale_factor⌋ (or the given size). `nearest` copies values; `linear`,
    `bilinear`, `bicubic` and `trilinear` interpolate over 1, 2, 2 and 3 spatial axes.
    """

    tag = "upsample"
    family = "upsample"
    examples = (
        Example({"scale_factor": 2}, ((4, 5, 6),)),
        Example({"size": [9, 7], "mode": "bilinear", "align_corners": True}, ((3, 4, 4),)),
        Example({"scale_factor": 1.5, "mode": "linear"}, ((2, 9),)),
        Example({"scale_factor": [1, 2, 2], "mode": "trilinear"}, ((2, 3, 4, 4),)),
        Example({"size": 12, "mode": "bicubic"}, ((2, 5, 6),)),
        Example({"scale_factor": 3, "mode": "nearest-exact"}, ((2, "seq"),)),
    )
    bad_inputs = (((16,),),)

    size: Optional[Union[PositiveInt, list[PositiveInt]]] = Field(
        None, description="Output spatial size: an int or one per spatial axis (give size or scale_factor).")
    scale_factor: Optional[Union[PositiveFloat, list[PositiveFloat]]] = Field(
        None, description="Multiplier for each spatial axis: a number or one per axis.")
    mode: Literal["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear"] = Field(
        "nearest", description="Interpolation: nearest, nearest-exact, linear (1-D), bilinear/bicubic (2-D), trilinear (3-D).")
    align_corners: Optional[bool] = Field(
        None, description="Linear modes only: align the corner pixels of input and output (PyTorch's default: false).")

    @model_validator(mode="after")
    def _one_size(self) -> "Upsample":
        if (self.size is None) == (self.scale_factor is None):
            raise ValueError("give exactly one of size and scale_factor")
        if self.align_corners is not None and self.mode not in MODE_POINTS:
            raise ValueError(f"align_corners applies only to the linear modes, not {self.mode!r}")
        return self

    def _per_axis(self, value: N | list[N], n: int, name: str) -> tuple[N, ...]:
        out = tuple(value) if isinstance(value, list) else (value,) * n
        if len(out) != n:
            raise ShapeError(f"{name} has {len(out)} values, but the input has {n} spatial axes")
        return out

    def output_shape(self, x: Shape) -> Shape:
        ranks = MODE_RANKS[self.mode]
        expect_rank(x, ranks, " or ".join(LAYOUTS[r] for r in ranks),
                    hint=None if len(x) in (2, 3, 4) else "upsample takes channels plus 1 to 3 spatial axes")
        expect_static(x[0], "channel count")
        n = len(x) - 1
        if self.size is not None:
            return (x[0],) + tuple(self._per_axis(self.size, n, "size"))
        assert self.scale_factor is not None  # the validator asks for exactly one of size and scale_factor
        scales = self._per_axis(self.scale_factor, n, "scale_factor")
        return (x[0],) + tuple(_scaled(d, s) for d, s in zip(x[1:], scales))

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(outputs[0])
        return 2 * MODE_POINTS.get(self.mode, 0) * n if isinstance(n, int) else 0

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        size = tuple_n(self.size, len(x) - 1) if self.size is not None else None
        scale = self.scale_factor if not isinstance(self.scale_factor, list) else tuple(self.scale_factor)
        return nn.Upsample(size=size, scale_factor=scale, mode=self.mode, align_corners=self.align_corners)


def _scaled(d: Dim, scale: float) -> Dim:
    if isinstance(d, int):
        return math.floor(d * scale)
    return f"{d}*{int(scale)}" if float(scale).is_integer() else f"{d}'"


@register
class PixelShuffle(Layer):
    """(C·r², H, W) → (C, H·r, W·r): rearranges channels into space (sub-pixel convolution, ESPCN)."""

    tag = "pixel_shuffle"
    family = "upsample"
    examples = (Example({"upscale_factor": 2}, ((12, 4, 5),)), Example({"upscale_factor": 3}, ((9, 2, 2),)))
    bad_inputs = (((8, 4),), ((6, 4, 4),))

    upscale_factor: PositiveInt = Field(description="r: each axis grows r times; the channels shrink r² times.")

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, 3, "(C·r², H, W)")
        c = expect_static(x[0], "channel count")
        r2 = self.upscale_factor ** 2
        if c % r2:
            raise ShapeError(f"{c} channels are not divisible by upscale_factor² = {r2}, got {fmt_shape(x)}",
                             hint=f"give the convolution before it a multiple of {r2} output channels")
        return (c // r2,) + tuple(_mul(d, self.upscale_factor) for d in x[1:])

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        return nn.PixelShuffle(self.upscale_factor)


@register
class PixelUnshuffle(Layer):
    """(C, H·r, W·r) → (C·r², H, W): the inverse of pixel_shuffle (space to depth)."""

    tag = "pixel_unshuffle"
    family = "upsample"
    examples = (Example({"downscale_factor": 2}, ((3, 8, 6),)),)
    bad_inputs = (((8, 4),), ((3, 5, 4),))

    downscale_factor: PositiveInt = Field(description="r: each spatial axis shrinks r times; the channels grow r² times.")

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, 3, "(C, H·r, W·r)")
        r = self.downscale_factor
        spatial = []
        for d in x[1:]:
            size = expect_static(d, "spatial size")
            if size % r:
                raise ShapeError(f"spatial size {size} is not divisible by downscale_factor {r}, got {fmt_shape(x)}")
            spatial.append(size // r)
        return (expect_static(x[0], "channel count") * r * r,) + tuple(spatial)

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        return nn.PixelUnshuffle(self.downscale_factor)


def _mul(d: Dim, r: int) -> Dim:
    return d * r if isinstance(d, int) else f"{d}*{r}"
