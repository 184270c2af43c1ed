"""Transposed convolutions (a.k.a. fractionally strided convolutions, "deconvolutions"): learned
upsampling in DCGAN generators, FCN and U-Net decoders."""

import math
from typing import TYPE_CHECKING, Annotated, Callable, ClassVar, Sequence, Union

from pydantic import Field, model_validator

from ..errors import ShapeError
from ..strict import PositiveInt
from . import parametrize
from .activation_ref import ActivationRef
from .base import Example, Layer
from .conv import LAYOUTS, IntOrList
from .registry import register
from .shapes import Shape, conv_transpose_out, expect_rank, expect_static, tuple_n

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

NonNeg = Annotated[int, Field(ge=0)]
NonNegOrList = Union[NonNeg, list[NonNeg]]


class ConvTransposeNd(Layer):
    """Shared parameters and rules of conv_transpose1d/2d/3d.

    L' = (L − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1 per spatial axis;
    `output_padding` picks among the sizes a strided convolution maps to the same size.
    """

    nd: ClassVar[int]
    family = "conv"

    out_channels: PositiveInt = Field(description="Number of output channels.")
    kernel_size: IntOrList = Field(description="Window size: an int or one per spatial axis.")
    stride: IntOrList = Field(1, description="Upsampling factor: the stride of the convolution this one transposes.")
    padding: NonNegOrList = Field(0, description="Removes dilation·(kernel_size−1)−padding from each side of the output.")
    output_padding: NonNegOrList = Field(0, description="Extra size added to one side of the output (less than stride or dilation).")
    dilation: IntOrList = Field(1, description="Spacing between kernel elements.")
    groups: PositiveInt = Field(1, description="Blocked connections between input and output channels.")
    bias: bool = Field(True, description="Learn an additive bias per output channel.")
    activation: ActivationRef | None = Field(None, description="Activation applied to the output.")
    weight_norm: bool = parametrize.weight_norm_field()
    spectral_norm: bool = parametrize.spectral_norm_field()

    check_weight_options = model_validator(mode="after")(parametrize.check_exclusive)

    def _axes(self, name: str) -> tuple[int, ...]:
        out = tuple_n(getattr(self, name), self.nd)
        if len(out) != self.nd:
            raise ShapeError(f"{name} has {len(out)} values; {self.tag} needs 1 or {self.nd}")
        return out

    def _check(self, x: Shape) -> int:
        expect_rank(x, self.nd + 1, LAYOUTS[self.nd])
        c = expect_static(x[0], "channel count")
        if c % self.groups or self.out_channels % self.groups:
            raise ShapeError(
                f"groups={self.groups} must divide both the input channels ({c}) and out_channels ({self.out_channels})")
        for op, s, d in zip(self._axes("output_padding"), self._axes("stride"), self._axes("dilation")):
            if op >= s and op >= d:
                raise ShapeError(f"output_padding {op} must be smaller than the stride ({s}) or the dilation ({d})",
                                 hint="output_padding only chooses among the sizes a stride maps together")
        return c

    def output_shape(self, x: Shape) -> Shape:
        self._check(x)
        axes = zip(x[1:], self._axes("kernel_size"), self._axes("stride"), self._axes("padding"),
                   self._axes("output_padding"), self._axes("dilation"))
        spatial = tuple(conv_transpose_out(n, k, s, p, op, d) for n, k, s, p, op, d in axes)
        for n in spatial:
            if isinstance(n, int) and n < 1:
                raise ShapeError(f"the output would have size {n}: padding removes more than the kernel adds",
                                 hint="use less padding")
        return (self.out_channels,) + spatial

    def _weight_shape(self, c: int) -> tuple[int, ...]:
        return (c, self.out_channels // self.groups) + self._axes("kernel_size")

    def num_params(self, x: Shape) -> int:
        weight = self._weight_shape(int(x[0]))
        n = math.prod(weight) + parametrize.extra_params(self, weight, 1)
        n += self.out_channels if self.bias else 0
        return n + (self.activation.num_params(self.output_shape(x)) if self.activation else 0)

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        """Each input position scatters a kernel_size window into out_channels/groups channels."""
        positions = math.prod(d if isinstance(d, int) else 1 for d in inputs[0][1:])
        return 2 * math.prod(self._weight_shape(int(inputs[0][0]))) * positions

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        cls: Callable[..., nn.Module] = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[self.nd]
        module = cls(int(x[0]), self.out_channels, self._axes("kernel_size"), stride=self._axes("stride"),
                     padding=self._axes("padding"), output_padding=self._axes("output_padding"), groups=self.groups,
                     bias=self.bias, dilation=self._axes("dilation"))
        return parametrize.apply(self, module, 1)


@register
class ConvTranspose1d(ConvTransposeNd):
    """(C, L) → (out_channels, L'): a transposed 1-D convolution (learned upsampling of a sequence)."""

    tag = "conv_transpose1d"
    nd = 1
    examples = (
        Example({"out_channels": 4, "kernel_size": 4, "stride": 2, "padding": 1}, ((6, 10),)),
        Example({"out_channels": 3, "kernel_size": 3, "stride": 2, "output_padding": 1, "groups": 3}, ((6, 7),)),
    )
    bad_inputs = (((4, 8, 8),), ((16,),))


@register
class ConvTranspose2d(ConvTransposeNd):
    """(C, H, W) → (out_channels, H', W'): a transposed 2-D convolution (learned upsampling).

    `kernel_size: 4, stride: 2, padding: 1` doubles H and W (DCGAN); `kernel_size: 2, stride: 2`
    does too (U-Net's up-convolution).
    """

    tag = "conv_transpose2d"
    nd = 2
    examples = (
        Example({"out_channels": 8, "kernel_size": 4, "stride": 2, "padding": 1, "bias": False}, ((16, 4, 4),)),
        Example({"out_channels": 4, "kernel_size": 4}, ((100, 1, 1),)),
        Example({"out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1,
                 "activation": "tanh"}, ((6, 5, 7),)),
        Example({"out_channels": 4, "kernel_size": [3, 2], "stride": [1, 2], "dilation": 2, "weight_norm": True}, ((2, 5, 5),)),
        Example({"out_channels": 4, "kernel_size": 2, "stride": 2, "spectral_norm": True}, ((6, 3, 3),)),
    )
    bad_inputs = (((64,),), ((3, 32),))


@register
class ConvTranspose3d(ConvTransposeNd):
    """(C, D, H, W) → (out_channels, D', H', W'): a transposed 3-D convolution."""

    tag = "conv_transpose3d"
    nd = 3
    examples = (
        Example({"out_channels": 2, "kernel_size": 2, "stride": 2}, ((4, 3, 4, 4),)),
        Example({"out_channels": 4, "kernel_size": 3, "stride": [1, 2, 2], "padding": 1, "output_padding": [0, 1, 1]},
                ((2, 3, 5, 5),)),
    )
    bad_inputs = (((3, 8, 8),),)
