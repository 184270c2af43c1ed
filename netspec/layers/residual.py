"""The skip path of a residual block."""

from typing import TYPE_CHECKING, Sequence

from pydantic import Field

from ..strict import PositiveInt
from .base import Example, Layer
from .registry import register
from .shapes import Shape, conv_out, expect_rank, expect_static, numel

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


@register
class Shortcut(Layer):
    """(C, H, W) → (out_channels, H', W'): identity when the shape is kept, else a strided 1×1 conv (+ batch norm).

    The projection shortcut of ResNet (option B): it is an identity when `out_channels` equals the
    input channels and `stride` is 1, and a 1×1 convolution with the given stride (followed by batch
    normalization when `norm` is true) otherwise, so the block's two paths can be added.
    """

    tag = "shortcut"
    family = "residual"
    examples = (
        Example({"out_channels": 8}, ((8, 6, 6),)),
        Example({"out_channels": 16, "stride": 2}, ((8, 6, 6),)),
        Example({"out_channels": 4, "norm": False}, ((2, 5, 5),)),
    )
    bad_inputs = (((8,),),)

    out_channels: PositiveInt = Field(description="Channels of the block's output.")
    stride: PositiveInt = Field(1, description="Stride of the block's main path.")
    norm: bool = Field(True, description="Batch-normalize the projection.")

    def _identity(self, x: Shape) -> bool:
        return x[0] == self.out_channels and self.stride == 1

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, 3, "(C, H, W)")
        expect_static(x[0], "channel count")
        return (self.out_channels,) + tuple(conv_out(n, 1, self.stride, 0) for n in x[1:])

    def num_params(self, x: Shape) -> int:
        if self._identity(x):
            return 0
        return int(x[0]) * self.out_channels + (2 * self.out_channels if self.norm else self.out_channels)

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        if self._identity(inputs[0]):
            return 0
        n = numel(outputs[0][1:])
        return 2 * int(inputs[0][0]) * self.out_channels * (n if isinstance(n, int) else 1)

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        if self._identity(x):
            return nn.Identity()
        conv = nn.Conv2d(int(x[0]), self.out_channels, 1, stride=self.stride, bias=not self.norm)
        return nn.Sequential(conv, nn.BatchNorm2d(self.out_channels)) if self.norm else nn.Sequential(conv)
