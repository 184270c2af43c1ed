"""Convolutions over 1-D sequences, 2-D images and 3-D volumes (video).

1×1 (pointwise), dilated (atrous) and grouped convolutions are parameters of these layers
(`kernel_size: 1`, `dilation`, `groups`); depthwise and separable convolutions are shipped blocks
over `groups` (netspec/blocks/conv.yaml).
"""

import math
from typing import TYPE_CHECKING, Annotated, Callable, ClassVar, Literal, Sequence, Union

from pydantic import Field, model_validator

from ..errors import ShapeError
from ..strict import PositiveInt
from . import parametrize
from .activation_ref import ActivationRef
from .base import Example, Layer
from .registry import register
from .shapes import Shape, conv_out, expect_rank, expect_static, tuple_n

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

IntOrList = Union[PositiveInt, list[PositiveInt]]
Padding = Union[Annotated[int, Field(ge=0)], list[Annotated[int, Field(ge=0)]], Literal["same", "valid"]]
LAYOUTS = {1: "(C, L)", 2: "(C, H, W)", 3: "(C, D, H, W)"}


class ConvNd(Layer):
    """Shared parameters and rules of conv1d/conv2d/conv3d."""

    nd: ClassVar[int]
    family = "conv"

    out_channels: PositiveInt = Field(description="Number of output channels (filters).")
    kernel_size: IntOrList = Field(description="Window size: an int or one per spatial axis.")
    stride: IntOrList = Field(1, description="Step of the window.")
    padding: Padding = Field(0, description="Zero padding: an int, one per axis, `same` (stride 1) or `valid` (none).")
    dilation: IntOrList = Field(1, description="Spacing between kernel elements (dilated/atrous convolution).")
    groups: PositiveInt = Field(1, description="Blocked connections; groups = channels is a depthwise convolution.")
    bias: bool = Field(True, description="Learn an additive bias per output channel.")
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = Field("zeros", description="How to pad.")
    activation: ActivationRef | None = Field(None, description="Activation applied to the output.")
    weight_norm: bool = parametrize.weight_norm_field()
    spectral_norm: bool = parametrize.spectral_norm_field()

    check_weight_options = model_validator(mode="after")(parametrize.check_exclusive)

    def _axes(self, name: str) -> tuple[int, ...]:
        value = getattr(self, name)
        out = tuple_n(value, self.nd)
        if len(out) != self.nd:
            raise ShapeError(f"{name} has {len(out)} values; {self.tag} needs 1 or {self.nd}")
        return out

    def _padding(self) -> tuple[int, ...]:
        if self.padding == "valid":
            return (0,) * self.nd
        if self.padding == "same":
            if any(s != 1 for s in self._axes("stride")):
                raise ShapeError("padding: same needs stride 1", hint="use an explicit padding with stride > 1")
            k, d = self._axes("kernel_size"), self._axes("dilation")
            return tuple(di * (ki - 1) // 2 for ki, di in zip(k, d))
        return self._axes("padding")

    def _check_input(self, x: Shape) -> int:
        expect_rank(x, self.nd + 1, LAYOUTS[self.nd])
        c = expect_static(x[0], "channel count")
        if c % self.groups or self.out_channels % self.groups:
            both = math.gcd(c, self.out_channels)
            common = [g for g in range(1, min(both, 4096) + 1) if both % g == 0]  # bounded: sizes can be huge
            raise ShapeError(
                f"groups={self.groups} must divide both the input channels ({c}) and out_channels ({self.out_channels})",
                hint=f"groups that fit: {', '.join(map(str, common))}",
            )
        return c

    def output_shape(self, x: Shape) -> Shape:
        self._check_input(x)
        k, s, d, p = self._axes("kernel_size"), self._axes("stride"), self._axes("dilation"), self._padding()
        if self.padding == "same":
            spatial = tuple(x[1:])
        else:
            spatial = tuple(conv_out(n, ki, si, pi, di) for n, ki, si, pi, di in zip(x[1:], k, s, p, d))
        return (self.out_channels,) + spatial

    def num_params(self, x: Shape) -> int:
        weight = (self.out_channels, int(x[0]) // self.groups) + self._axes("kernel_size")
        n = math.prod(weight) + parametrize.extra_params(self, weight, 0)
        n += self.out_channels if self.bias else 0
        return n + (self.activation.num_params(self.output_shape(x)) if self.activation else 0)

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        c = int(inputs[0][0])
        positions = math.prod(d if isinstance(d, int) else 1 for d in outputs[0][1:])
        per_position = 2 * (c // self.groups) * math.prod(self._axes("kernel_size")) * self.out_channels
        return per_position * positions

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        cls: Callable[..., nn.Module] = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[self.nd]
        padding = self.padding if isinstance(self.padding, str) else self._axes("padding")
        module = cls(
            int(x[0]), self.out_channels, self._axes("kernel_size"), stride=self._axes("stride"),
            padding=padding, dilation=self._axes("dilation"), groups=self.groups, bias=self.bias,
            padding_mode=self.padding_mode,
        )
        return parametrize.apply(self, module, 0)


@register
class Conv1d(ConvNd):
    """(C, L) → (out_channels, L'): a 1-D convolution over a sequence or signal."""

    tag = "conv1d"
    nd = 1
    examples = (
        Example({"out_channels": 8, "kernel_size": 3}, ((4, 20),)),
        Example({"out_channels": 6, "kernel_size": 5, "padding": "same", "dilation": 2, "groups": 2}, ((4, 17),)),
        Example({"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "activation": "relu"}, ((3, "seq"),)),
    )
    bad_inputs = (((4, 8, 8),), ((16,),))


@register
class Conv2d(ConvNd):
    """(C, H, W) → (out_channels, H', W'): a 2-D convolution over an image or feature map.

    H' = ⌊(H + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1, and likewise for W.
    """

    tag = "conv2d"
    nd = 2
    examples = (
        Example({"out_channels": 6, "kernel_size": 5, "padding": 2}, ((1, 28, 28),)),
        Example({"out_channels": 8, "kernel_size": [3, 1], "stride": [2, 1], "bias": False}, ((4, 9, 7),)),
        Example({"out_channels": 8, "kernel_size": 3, "padding": "same", "groups": 4, "activation": "relu"}, ((4, 6, 6),)),
        Example({"out_channels": 4, "kernel_size": 3, "dilation": 2, "padding_mode": "reflect", "padding": 2}, ((2, 10, 10),)),
        Example({"out_channels": 16, "kernel_size": 1}, ((8, 7, 7),)),  # pointwise (1×1)
        Example({"out_channels": 4, "kernel_size": 3, "dilation": 4, "padding": 4}, ((3, 16, 16),)),  # atrous
        Example({"out_channels": 6, "kernel_size": 3, "padding": 1, "weight_norm": True}, ((3, 8, 8),)),
        Example({"out_channels": 6, "kernel_size": 3, "stride": 2, "spectral_norm": True, "bias": False}, ((3, 9, 9),)),
    )
    bad_inputs = (((64,),), ((3, 32),))


@register
class Conv3d(ConvNd):
    """(C, D, H, W) → (out_channels, D', H', W'): a 3-D convolution over a volume or a video clip (D = time)."""

    tag = "conv3d"
    nd = 3
    examples = (
        Example({"out_channels": 4, "kernel_size": 3, "padding": 1}, ((2, 5, 8, 8),)),
        Example({"out_channels": 6, "kernel_size": [1, 3, 3], "stride": [1, 2, 2], "bias": False}, ((3, 4, 9, 9),)),
        Example({"out_channels": 4, "kernel_size": 3, "padding": "same", "groups": 2, "weight_norm": True}, ((2, 4, 6, 6),)),
    )
    bad_inputs = (((3, 8, 8),), ((16,),))
