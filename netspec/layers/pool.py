"""Pooling: fixed windows, adaptive output sizes, and global pooling."""

import math
from typing import TYPE_CHECKING, Annotated, ClassVar, Optional, Sequence, Union

from pydantic import Field

from ..errors import ShapeError
from ..strict import PositiveInt
from .base import Example, Layer
from .registry import register
from .shapes import Shape, conv_out, expect_rank, numel, tuple_n

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

IntOrList = Union[PositiveInt, list[PositiveInt]]
PadOrList = Union[Annotated[int, Field(ge=0)], list[Annotated[int, Field(ge=0)]]]
LAYOUTS = {1: "(C, L)", 2: "(C, H, W)", 3: "(C, D, H, W)"}


class PoolNd(Layer):
    """Shared rules of max/avg pooling with a fixed window."""

    nd: ClassVar[int]
    op: ClassVar[str]
    family = "pool"

    kernel_size: IntOrList = Field(description="Window size.")
    stride: Optional[IntOrList] = Field(None, description="Step of the window (default: kernel_size).")
    padding: PadOrList = Field(0, description="Implicit padding on both sides (at most half the window).")
    ceil_mode: bool = Field(False, description="Use ceil instead of floor for the output size.")

    def _axes(self, value: int | list[int]) -> tuple[int, ...]:
        out = tuple_n(value, self.nd)
        if len(out) != self.nd:
            raise ShapeError(f"expected 1 or {self.nd} values, got {len(out)}")
        return out

    def _window(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        k = self._axes(self.kernel_size)
        s = self._axes(self.stride if self.stride is not None else self.kernel_size)
        p = self._axes(self.padding)
        d = self._axes(getattr(self, "dilation", 1))
        for ki, pi, di in zip(k, p, d):
            if pi > (di * (ki - 1) + 1) // 2:
                raise ShapeError(f"padding {pi} is more than half the window ({ki})",
                                 hint="PyTorch allows padding of at most kernel_size // 2")
        return k, s, p, d

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, self.nd + 1, LAYOUTS[self.nd])
        k, s, p, d = self._window()
        spatial = tuple(conv_out(n, ki, si, pi, di, self.ceil_mode) for n, ki, si, pi, di in zip(x[1:], k, s, p, d))
        return (x[0],) + spatial

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(outputs[0])
        return n * math.prod(self._axes(self.kernel_size)) if isinstance(n, int) else 0

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        k, s, p, d = self._window()
        cls: type[nn.Module] = getattr(nn, f"{self.op}Pool{self.nd}d")
        kwargs = dict(kernel_size=k, stride=s, padding=p, ceil_mode=self.ceil_mode)
        if self.op == "Max":
            kwargs["dilation"] = d
        else:
            kwargs["count_include_pad"] = self.count_include_pad  # type: ignore[attr-defined]
        return cls(**kwargs)


class MaxPoolNd(PoolNd):
    op = "Max"
    dilation: IntOrList = Field(1, description="Spacing between window elements.")


class AvgPoolNd(PoolNd):
    op = "Avg"
    count_include_pad: bool = Field(True, description="Count the zero padding in the average.")


@register
class MaxPool1d(MaxPoolNd):
    """(C, L) → (C, L'): maximum over sliding windows."""

    tag, nd = "max_pool1d", 1
    examples = (Example({"kernel_size": 2}, ((4, 10),)), Example({"kernel_size": 3, "stride": 2, "padding": 1}, ((2, "seq"),)))
    bad_inputs = (((4, 8, 8),),)


@register
class MaxPool2d(MaxPoolNd):
    """(C, H, W) → (C, H', W'): maximum over sliding windows."""

    tag, nd = "max_pool2d", 2
    examples = (
        Example({"kernel_size": 2}, ((6, 28, 28),)),
        Example({"kernel_size": 3, "stride": 2, "padding": 1}, ((4, 15, 15),)),
        Example({"kernel_size": 3, "stride": 2, "ceil_mode": True}, ((4, 14, 14),)),
    )
    bad_inputs = (((16,),), ((4, 8),))


@register
class MaxPool3d(MaxPoolNd):
    """(C, D, H, W) → (C, D', H', W'): maximum over sliding 3-D windows (video, volumes)."""

    tag, nd = "max_pool3d", 3
    examples = (
        Example({"kernel_size": 2}, ((3, 4, 8, 8),)),
        Example({"kernel_size": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1]}, ((2, 3, 7, 7),)),
    )
    bad_inputs = (((4, 8, 8),),)


@register
class AvgPool1d(AvgPoolNd):
    """(C, L) → (C, L'): mean over sliding windows."""

    tag, nd = "avg_pool1d", 1
    examples = (Example({"kernel_size": 2}, ((4, 10),)), Example({"kernel_size": 3, "stride": 1, "padding": 1}, ((2, 9),)))
    bad_inputs = (((4, 8, 8),),)


@register
class AvgPool2d(AvgPoolNd):
    """(C, H, W) → (C, H', W'): mean over sliding windows (LeNet's subsampling)."""

    tag, nd = "avg_pool2d", 2
    examples = (
        Example({"kernel_size": 2, "stride": 2}, ((6, 28, 28),)),
        Example({"kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": False}, ((4, 7, 7),)),
    )
    bad_inputs = (((16,),),)


@register
class AvgPool3d(AvgPoolNd):
    """(C, D, H, W) → (C, D', H', W'): mean over sliding 3-D windows."""

    tag, nd = "avg_pool3d", 3
    examples = (
        Example({"kernel_size": 2}, ((3, 4, 6, 6),)),
        Example({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, ((2, 5, 7, 7),)),
    )
    bad_inputs = (((4, 8, 8),),)


class AdaptivePoolNd(Layer):
    """Pooling to a fixed output size, whatever the input size."""

    nd: ClassVar[int]
    op: ClassVar[str]
    family = "pool"
    output_size: IntOrList = Field(description="Output size: an int or one per spatial axis.")

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, self.nd + 1, LAYOUTS[self.nd])
        size = tuple_n(self.output_size, self.nd)
        if len(size) != self.nd:
            raise ShapeError(f"output_size needs 1 or {self.nd} values, got {len(size)}")
        return (x[0],) + size

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(inputs[0])
        return n if isinstance(n, int) else 0

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        cls: type[nn.Module] = getattr(nn, f"Adaptive{self.op}Pool{self.nd}d")
        return cls(tuple_n(self.output_size, self.nd))


@register
class AdaptiveAvgPool1d(AdaptivePoolNd):
    """(C, L) → (C, output_size): mean over adaptively sized windows."""

    tag, nd, op = "adaptive_avg_pool1d", 1, "Avg"
    examples = (Example({"output_size": 1}, ((4, 10),)), Example({"output_size": 3}, ((2, 12),)))
    bad_inputs = (((4, 8, 8),),)


@register
class AdaptiveAvgPool2d(AdaptivePoolNd):
    """(C, H, W) → (C, h, w): mean over adaptively sized windows (h, w = output_size)."""

    tag, nd, op = "adaptive_avg_pool2d", 2, "Avg"
    examples = (Example({"output_size": 1}, ((8, 7, 7),)), Example({"output_size": [6, 6]}, ((4, 13, 13),)))
    bad_inputs = (((16,),),)


@register
class AdaptiveMaxPool1d(AdaptivePoolNd):
    """(C, L) → (C, output_size): maximum over adaptively sized windows."""

    tag, nd, op = "adaptive_max_pool1d", 1, "Max"
    examples = (Example({"output_size": 1}, ((4, 10),)),)
    bad_inputs = (((4, 8, 8),),)


@register
class AdaptiveMaxPool2d(AdaptivePoolNd):
    """(C, H, W) → (C, h, w): maximum over adaptively sized windows."""

    tag, nd, op = "adaptive_max_pool2d", 2, "Max"
    examples = (Example({"output_size": 2}, ((3, 8, 8),)),)
    bad_inputs = (((16,),),)


@register
class AdaptiveAvgPool3d(AdaptivePoolNd):
    """(C, D, H, W) → (C, d, h, w): mean over adaptively sized 3-D windows."""

    tag, nd, op = "adaptive_avg_pool3d", 3, "Avg"
    examples = (Example({"output_size": 1}, ((4, 3, 6, 6),)), Example({"output_size": [2, 3, 3]}, ((2, 5, 7, 7),)))
    bad_inputs = (((4, 8, 8),),)


@register
class AdaptiveMaxPool3d(AdaptivePoolNd):
    """(C, D, H, W) → (C, d, h, w): maximum over adaptively sized 3-D windows."""

    tag, nd, op = "adaptive_max_pool3d", 3, "Max"
    examples = (Example({"output_size": [1, 2, 2]}, ((3, 4, 6, 6),)),)
    bad_inputs = (((4, 8, 8),),)


class GlobalPool(Layer):
    """Reduce every spatial axis to one value per channel."""

    family = "pool"
    op: ClassVar[str]

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, (2, 3, 4), "(C, L), (C, H, W) or (C, D, H, W)")
        return (x[0],)

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(inputs[0])
        return n if isinstance(n, int) else 0

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.pooling import GlobalPool as Module

        return Module(self.op, len(x) - 1)


@register
class GlobalAvgPool(GlobalPool):
    """(C, *spatial) → (C,): mean over all spatial positions (global average pooling)."""

    tag, op = "global_avg_pool", "mean"
    examples = (Example({}, ((8, 7, 7),)), Example({}, ((4, 10),)))
    bad_inputs = (((16,),),)


@register
class GlobalMaxPool(GlobalPool):
    """(C, *spatial) → (C,): maximum over all spatial positions."""

    tag, op = "global_max_pool", "amax"
    examples = (Example({}, ((8, 7, 7),)), Example({}, ((4, "seq"),)))
    bad_inputs = (((16,),),)
