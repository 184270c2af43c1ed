"""Fully connected layers."""

from typing import TYPE_CHECKING, Sequence

from pydantic import Field, model_validator

from ..strict import PositiveInt, Probability
from . import parametrize
from .activation_ref import ActivationRef
from .base import Example, Layer
from .registry import register
from .shapes import Shape, expect_rank, expect_static, numel

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


@register
class Linear(Layer):
    """(F,) → (out_features,); also (L, F) → (L, out_features) for a sequence of vectors.

    y = x Wᵀ + b. `in_features` is inferred from the input. `dropconnect: p` drops each WEIGHT
    (not activation) with probability p during training (Wan et al., 2013), with inverted scaling
    so evaluation uses the plain weights; `weight_norm` / `spectral_norm` reparametrize W.
    """

    tag = "linear"
    family = "dense"
    examples = (
        Example({"out_features": 10}, ((64,),)),
        Example({"out_features": 4, "bias": False, "activation": "relu"}, ((7, 16),)),
        Example({"out_features": 3, "activation": {"leaky_relu": {"negative_slope": 0.2}}}, (("seq", 5),)),
        Example({"out_features": 6, "weight_norm": True}, ((5,),)),
        Example({"out_features": 6, "spectral_norm": True, "bias": False}, ((4, 5),)),
        Example({"out_features": 8, "dropconnect": 0.5, "activation": "relu"}, ((12,),)),
    )
    bad_inputs = (((16, 5, 5),),)

    out_features: PositiveInt = Field(description="Size of each output vector.")
    bias: bool = Field(True, description="Learn an additive bias.")
    activation: ActivationRef | None = Field(None, description="Activation applied to the output.")
    weight_norm: bool = parametrize.weight_norm_field()
    spectral_norm: bool = parametrize.spectral_norm_field()
    dropconnect: Probability = Field(0.0, description="DropConnect: probability of dropping each weight in training.")

    check_weight_options = model_validator(mode="after")(parametrize.check_exclusive)

    def output_shape(self, x: Shape) -> Shape:
        expect_rank(x, (1, 2), "a flat feature vector (F,) or a sequence of vectors (L, F)",
                    hint="add `- flatten` before it" if len(x) > 2 else None)
        expect_static(x[-1], "feature size")
        return x[:-1] + (self.out_features,)

    def num_params(self, x: Shape) -> int:
        n = int(x[-1]) * self.out_features + (self.out_features if self.bias else 0)
        n += parametrize.extra_params(self, (self.out_features, int(x[-1])), 0)
        return n + (self.activation.num_params(self.output_shape(x)) if self.activation else 0)

    def param_shapes(self, x: Shape) -> dict[str, tuple[int, ...]]:
        weight = (self.out_features, int(x[-1]))
        out: dict[str, tuple[int, ...]]
        if self.weight_norm:
            out = {"parametrizations.weight.original0": (weight[0], 1), "parametrizations.weight.original1": weight}
        elif self.spectral_norm:
            out = {"parametrizations.weight.original": weight}
        else:
            out = {"weight": weight}
        return {**out, "bias": (self.out_features,)} if self.bias else out

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        rows = numel(inputs[0][:-1])
        return 2 * int(inputs[0][-1]) * self.out_features * (rows if isinstance(rows, int) else 1)

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        if self.dropconnect:
            from ..nn.regularization import DropConnectLinear

            module: nn.Linear = DropConnectLinear(int(x[-1]), self.out_features, bias=self.bias, p=self.dropconnect)
        else:
            module = nn.Linear(int(x[-1]), self.out_features, bias=self.bias)
        return parametrize.apply(self, module, 0)
