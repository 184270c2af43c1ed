"""Dropout: active in training, identity in evaluation."""

from __future__ import annotations

from pydantic import Field

from ..spec.base import Probability
from .base import Example, Layer
from .registry import register
from .shapes import Shape


@register
class Dropout(Layer):
    """(*) → (*): zeroes each element with probability p during training and scales the rest by 1/(1−p)."""

    tag = "dropout"
    family = "regularization"
    examples = (Example({}, ((16,),)), Example({"p": 0.2}, ((3, 4, 4),)))

    p: Probability = Field(0.5, description="Probability of dropping an element, in [0, 1).")

    def output_shape(self, x: Shape) -> Shape:
        return x

    def build(self, x: Shape):
        from torch import nn

        return nn.Dropout(self.p)
