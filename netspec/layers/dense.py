"""Fully connected layers."""

from __future__ import annotations

from typing import Sequence

from pydantic import Field

from ..spec.base import PositiveInt
from .activation_ref import ActivationRef
from .base import Example, Layer
from .registry import register
from .shapes import Shape, expect_rank, expect_static, numel


@register
class Linear(Layer):
    """(F,) → (out_features,); also (L, F) → (L, out_features) for a sequence of vectors.

    y = x Wᵀ + b. `in_features` is inferred from the input.
    """

    tag = "linear"
    family = "dense"
    examples = (
        Example({"out_features": 10}, ((64,),)),
        Example({"out_features": 4, "bias": False, "activation": "relu"}, ((7, 16),)),
        Example({"out_features": 3, "activation": {"leaky_relu": {"negative_slope": 0.2}}}, (("seq", 5),)),
    )
    bad_inputs = (((16, 5, 5),),)

    out_features: PositiveInt = Field(description="Size of each output vector.")
    bias: bool = Field(True, description="Learn an additive bias.")
    activation: ActivationRef | None = Field(None, description="Activation applied to the output.")

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, (1, 2), "a flat feature vector (F,) or a sequence of vectors (L, F)",
                    hint="add `- flatten` before it" if len(x) > 2 else None)
        expect_static(x[-1], "feature size")
        return x[:-1] + (self.out_features,)

    def num_params(self, x: Shape) -> int:
        n = int(x[-1]) * self.out_features + (self.out_features if self.bias else 0)
        return n + (self.activation.num_params(self.output_shape(x)) if self.activation else 0)

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        rows = numel(inputs[0][:-1])
        return 2 * int(inputs[0][-1]) * self.out_features * (rows if isinstance(rows, int) else 1)

    def build(self, x: Shape):
        from torch import nn

        return nn.Linear(int(x[-1]), self.out_features, bias=self.bias)
