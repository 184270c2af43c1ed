"""Dropout and noise: active in training, identity in evaluation.

DropConnect (dropping weights rather than activations) is the `dropconnect` option of `linear`.
"""

from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from ..strict import Probability
from .base import Example, Layer
from .registry import register
from .shapes import Shape, expect_rank

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


@register
class Dropout(Layer):
    """(*) → (*): zeroes each element with probability p during training and scales the rest by 1/(1−p)."""

    tag = "dropout"
    family = "regularization"
    examples = (Example({}, ((16,),)), Example({"p": 0.2}, ((3, 4, 4),)))

    p: Probability = Field(0.5, description="Probability of dropping an element, in [0, 1).")

    def output_shape(self, x: Shape) -> Shape:
        return x

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        return nn.Dropout(self.p)


class ChannelDropout(Layer):
    """Spatial dropout: whole channels are zeroed together (Tompson et al., 2015)."""

    family = "regularization"
    rank: ClassVar[int]
    layout: ClassVar[str]
    module: ClassVar[str]

    p: Probability = Field(0.5, description="Probability of dropping a whole channel, in [0, 1).")

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, self.rank, self.layout)
        return x

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        cls: type[nn.Module] = getattr(nn, self.module)
        return cls(self.p)


@register
class Dropout1d(ChannelDropout):
    """(C, L) → (C, L): zeroes whole channels (all of a channel's positions) with probability p in training."""

    tag, rank, layout, module = "dropout1d", 2, "(C, L)", "Dropout1d"
    examples = (Example({"p": 0.3}, ((4, 10),)),)
    bad_inputs = (((16,),),)


@register
class Dropout2d(ChannelDropout):
    """(C, H, W) → (C, H, W): spatial dropout, zeroes whole feature maps with probability p in training."""

    tag, rank, layout, module = "dropout2d", 3, "(C, H, W)", "Dropout2d"
    examples = (Example({}, ((6, 5, 5),)),)
    bad_inputs = (((4, 10),),)


@register
class Dropout3d(ChannelDropout):
    """(C, D, H, W) → (C, D, H, W): zeroes whole 3-D feature maps with probability p in training."""

    tag, rank, layout, module = "dropout3d", 4, "(C, D, H, W)", "Dropout3d"
    examples = (Example({"p": 0.2}, ((3, 2, 4, 4),)),)
    bad_inputs = (((6, 5, 5),),)


@register
class AlphaDropout(Layer):
    """(*) → (*): dropout that keeps the mean and variance of SELU activations (self-normalizing networks)."""

    tag = "alpha_dropout"
    family = "regularization"
    examples = (Example({"p": 0.1}, ((16,),)), Example({}, ((3, 4, 4),)))

    p: Probability = Field(0.5, description="Probability of dropping an element, in [0, 1).")

    def output_shape(self, x: Shape) -> Shape:
        return x

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        return nn.AlphaDropout(self.p)


@register
class GaussianNoise(Layer):
    """(*) → (*): adds N(0, std²) noise in training only (input noise, denoising); identity in evaluation."""

    tag = "gaussian_noise"
    family = "regularization"
    examples = (Example({"std": 0.1}, ((16,),)), Example({"std": 0.5}, ((1, 8, 8),)))

    std: float = Field(ge=0, description="Standard deviation of the added noise.")

    def output_shape(self, x: Shape) -> Shape:
        return x

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.regularization import GaussianNoise as Module

        return Module(self.std)
