"""Normalization layers."""

import math
from typing import TYPE_CHECKING, ClassVar, Sequence

from pydantic import Field

from ..errors import ShapeError
from ..strict import PositiveFloat, PositiveInt
from .base import Example, Layer
from .registry import register
from .shapes import Shape, expect_rank, expect_static, fmt_shape, numel

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


class BatchNormNd(Layer):
    """Batch normalization over the channel dim (dim 1)."""

    family = "norm"
    ranks: ClassVar[tuple[int, ...]]
    layout: ClassVar[str]
    module: ClassVar[str]

    eps: PositiveFloat = Field(1e-5, description="Added to the variance for stability.")
    momentum: float = Field(0.1, ge=0, le=1, description="Running-statistics update rate.")
    affine: bool = Field(True, description="Learn a scale (gamma) and shift (beta) per channel.")
    track_running_stats: bool = Field(True, description="Keep running mean/var for evaluation.")

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, self.ranks, self.layout)
        expect_static(x[0], "channel count")
        return x

    def num_params(self, x: Shape) -> int:
        return 2 * int(x[0]) if self.affine else 0

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(inputs[0])
        return 2 * n if isinstance(n, int) else 0

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        cls: type[nn.Module] = getattr(nn, self.module)
        return cls(int(x[0]), eps=self.eps, momentum=self.momentum, affine=self.affine,
                   track_running_stats=self.track_running_stats)


@register
class BatchNorm1d(BatchNormNd):
    """(C,) or (C, L) → same: normalizes each channel over the batch (and length)."""

    tag, ranks, layout, module = "batch_norm1d", (1, 2), "(C,) or (C, L)", "BatchNorm1d"
    examples = (Example({}, ((16,),)), Example({"affine": False}, ((4, 10),)))
    bad_inputs = (((3, 8, 8),),)


@register
class BatchNorm2d(BatchNormNd):
    """(C, H, W) → (C, H, W): normalizes each channel over the batch and spatial positions."""

    tag, ranks, layout, module = "batch_norm2d", (3,), "(C, H, W)", "BatchNorm2d"
    examples = (Example({}, ((6, 8, 8),)), Example({"momentum": 0.01, "eps": 1e-3}, ((3, 5, 4),)))
    bad_inputs = (((16,),), ((4, 10),))


@register
class BatchNorm3d(BatchNormNd):
    """(C, D, H, W) → (C, D, H, W): normalizes each channel over the batch and the volume."""

    tag, ranks, layout, module = "batch_norm3d", (4,), "(C, D, H, W)", "BatchNorm3d"
    examples = (Example({}, ((4, 3, 5, 5),)), Example({"affine": False}, ((2, 2, 3, 3),)))
    bad_inputs = (((3, 8, 8),),)


class InstanceNormNd(BatchNormNd):
    """Instance normalization: each channel of each sample over its own spatial positions."""

    affine: bool = Field(False, description="Learn a scale and shift per channel.")
    track_running_stats: bool = Field(False, description="Keep running mean/var and use them in evaluation.")


@register
class InstanceNorm1d(InstanceNormNd):
    """(C, L) → (C, L): normalizes each channel of each sample over its length (Ulyanov et al., 2016)."""

    tag, ranks, layout, module = "instance_norm1d", (2,), "(C, L)", "InstanceNorm1d"
    examples = (Example({}, ((4, 10),)), Example({"affine": True, "track_running_stats": True}, ((3, "seq"),)))
    bad_inputs = (((16,),), ((3, 8, 8),))


@register
class InstanceNorm2d(InstanceNormNd):
    """(C, H, W) → (C, H, W): normalizes each channel of each sample over its spatial positions (style transfer)."""

    tag, ranks, layout, module = "instance_norm2d", (3,), "(C, H, W)", "InstanceNorm2d"
    examples = (Example({}, ((3, 6, 6),)), Example({"affine": True}, ((4, 5, 7),)))
    bad_inputs = (((4, 10),),)


@register
class InstanceNorm3d(InstanceNormNd):
    """(C, D, H, W) → (C, D, H, W): normalizes each channel of each sample over its volume."""

    tag, ranks, layout, module = "instance_norm3d", (4,), "(C, D, H, W)", "InstanceNorm3d"
    examples = (Example({"affine": True}, ((2, 3, 4, 4),)),)
    bad_inputs = (((3, 8, 8),),)


@register
class GroupNorm(Layer):
    """(C, *) → (C, *): normalizes each sample over groups of C/num_groups channels (Wu & He, 2018).

    num_groups = 1 normalizes over all channels and positions (a layer norm over (C, H, W));
    num_groups = C is an instance norm with a per-channel affine.
    """

    tag = "group_norm"
    family = "norm"
    examples = (Example({"num_groups": 2}, ((8, 4, 4),)), Example({"num_groups": 3, "affine": False}, ((6, 10),)),
                Example({"num_groups": 1}, ((4,),)))
    bad_inputs = (((),), ((5, 4, 4),))

    num_groups: PositiveInt = Field(description="Number of channel groups; must divide the channels.")
    eps: PositiveFloat = Field(1e-5, description="Added to the variance for stability.")
    affine: bool = Field(True, description="Learn a scale and shift per channel.")

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, (1, 2, 3, 4), "(C, *) with channels first")
        c = expect_static(x[0], "channel count")
        if c % self.num_groups:
            raise ShapeError(f"num_groups {self.num_groups} does not divide the {c} channels of {fmt_shape(x)}",
                             hint=f"choose a divisor of {c}")
        return x

    def num_params(self, x: Shape) -> int:
        return 2 * int(x[0]) if self.affine else 0

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(inputs[0])
        return 5 * n if isinstance(n, int) else 0

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        return nn.GroupNorm(self.num_groups, int(x[0]), eps=self.eps, affine=self.affine)


@register
class LocalResponseNorm(Layer):
    """(C, *spatial) → same: divides each activation by (k + α/n·Σ x²)^β over n neighbouring channels (AlexNet).

    The sum runs over `size` adjacent channels at the same position (Krizhevsky et al., 2012:
    size 5, alpha 1e-4, beta 0.75, k 2).
    """

    tag = "local_response_norm"
    family = "norm"
    examples = (Example({"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}, ((8, 6, 6),)),
                Example({"size": 2}, ((3, 7),)))
    bad_inputs = (((16,),),)

    size: PositiveInt = Field(description="Number of neighbouring channels summed over.")
    alpha: float = Field(1e-4, description="Multiplicative factor (divided by size).")
    beta: float = Field(0.75, description="Exponent.")
    k: float = Field(1.0, description="Additive constant.")

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, (2, 3, 4), "(C, L), (C, H, W) or (C, D, H, W)")
        return x

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(inputs[0])
        return (2 * self.size + 4) * n if isinstance(n, int) else 0

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        return nn.LocalResponseNorm(self.size, alpha=self.alpha, beta=self.beta, k=self.k)


@register
class LayerNorm(Layer):
    """(*, D) → (*, D): normalizes each sample over its last `normalized_dims` dims.

    The normalized shape is inferred from the input; `normalized_dims: 3` on (C, H, W) normalizes
    over all three (the layer norm of the original paper applied to images).
    """

    tag = "layer_norm"
    family = "norm"
    examples = (Example({}, ((16,),)), Example({}, (("seq", 8),)), Example({"normalized_dims": 2, "bias": False}, ((3, 4, 5),)))
    bad_inputs = (((),),)

    normalized_dims: PositiveInt = Field(1, description="How many trailing dims to normalize over.")
    eps: PositiveFloat = Field(1e-5, description="Added to the variance for stability.")
    elementwise_affine: bool = Field(True, description="Learn a per-element scale (and shift).")
    bias: bool = Field(True, description="Learn the shift (with elementwise_affine).")

    def _normalized(self, x: Shape) -> tuple[int, ...]:
        if len(x) < self.normalized_dims:
            raise ShapeError(f"cannot normalize over the last {self.normalized_dims} dims of {fmt_shape(x)}",
                             hint="lower normalized_dims, or normalize a tensor with more dims")
        dims = x[len(x) - self.normalized_dims:]
        return tuple(expect_static(d, "normalized size") for d in dims)

    def output_shape(self, x: Shape) -> Shape:
        self._normalized(x)
        return x

    def num_params(self, x: Shape) -> int:
        n = math.prod(self._normalized(x))
        return (n + (n if self.bias else 0)) if self.elementwise_affine else 0

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(inputs[0])
        return 5 * n if isinstance(n, int) else 0

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        return nn.LayerNorm(self._normalized(x), eps=self.eps, elementwise_affine=self.elementwise_affine,
                            bias=self.bias)
