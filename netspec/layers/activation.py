"""Activation functions: shape-preserving, usable as layers (`- relu`) or as the `activation:`
option of linear and convolution layers."""

from typing import TYPE_CHECKING, ClassVar, Literal, Sequence

from pydantic import Field

from ..strict import PositiveFloat
from .base import Example, Layer
from .registry import register
from .shapes import Shape, expect_static, numel

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


class Activation(Layer):
    """Elementwise activations: output shape = input shape."""

    family = "activation"
    examples = (Example({}, ((8,),)), Example({}, ((3, 5, 5),)))
    #: the torch.nn class built with the layer's parameters as keyword arguments
    module: ClassVar[str] = ""

    def output_shape(self, x: Shape) -> Shape:
        return x

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        n = numel(outputs[0])
        return n if isinstance(n, int) else 0

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        cls: type[nn.Module] = getattr(nn, type(self).module)
        return cls(**self.model_dump())


def _simple(tag: str, module: str, doc: str) -> type[Activation]:
    cls = type(module, (Activation,), {"__doc__": f"(*) → (*): {doc}", "tag": tag, "module": module,
                                        "__module__": __name__})
    return register(cls)


ReLU = _simple("relu", "ReLU", "max(0, x).")
ReLU6 = _simple("relu6", "ReLU6", "min(max(0, x), 6): a ReLU clipped at 6 (MobileNetV2).")
SELU = _simple("selu", "SELU", "scaled ELU (self-normalizing nets; pair with lecun_normal init).")
SiLU = _simple("silu", "SiLU", "x · sigmoid(x), also called swish.")
Swish = _simple("swish", "SiLU", "x · sigmoid(x) (the same function as silu).")
Mish = _simple("mish", "Mish", "x · tanh(softplus(x)).")
Hardswish = _simple("hardswish", "Hardswish", "x · relu6(x + 3) / 6 (MobileNetV3).")
Tanh = _simple("tanh", "Tanh", "hyperbolic tangent, in (−1, 1).")
Sigmoid = _simple("sigmoid", "Sigmoid", "logistic function 1 / (1 + e^(−x)), in (0, 1).")


@register
class Identity(Activation):
    """(*) → (*): passes its input through unchanged."""

    tag = "identity"
    module = "Identity"

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        return 0  # no arithmetic


@register
class LeakyReLU(Activation):
    """(*) → (*): x if x > 0 else negative_slope · x."""

    tag = "leaky_relu"
    module = "LeakyReLU"
    examples = (Example({}, ((8,),)), Example({"negative_slope": 0.2}, ((2, 4),)))
    negative_slope: float = Field(0.01, description="Slope for x < 0.")


@register
class ELU(Activation):
    """(*) → (*): x if x > 0 else alpha · (e^x − 1)."""

    tag = "elu"
    module = "ELU"
    alpha: float = Field(1.0, description="Scale of the negative part.")


@register
class GELU(Activation):
    """(*) → (*): x · Φ(x), the Gaussian error linear unit."""

    tag = "gelu"
    module = "GELU"
    examples = (Example({}, ((8,),)), Example({"approximate": "tanh"}, ((2, 4),)))
    approximate: Literal["none", "tanh"] = Field("none", description="`tanh` for the tanh approximation (GPT-2).")


@register
class Softplus(Activation):
    """(*) → (*): (1/beta) · log(1 + e^(beta·x)), a smooth ReLU."""

    tag = "softplus"
    module = "Softplus"
    beta: PositiveFloat = Field(1.0, description="Sharpness.")
    threshold: float = Field(20.0, description="Above beta·x > threshold the function is linear.")


@register
class PReLU(Activation):
    """(*) → (*): leaky ReLU whose negative slope is learned (one, or one per channel)."""

    tag = "prelu"
    examples = (Example({}, ((8,),)), Example({"channelwise": True, "init": 0.1}, ((3, 5, 5),)))
    bad_inputs = ()
    channelwise: bool = Field(False, description="Learn one slope per channel (dim 1) instead of one in all.")
    init: float = Field(0.25, description="Initial slope.")

    def num_params(self, x: Shape) -> int:
        return expect_static(x[0], "channel count") if self.channelwise else 1

    def build(self, x: Shape) -> "nn.Module":
        from torch import nn

        return nn.PReLU(int(x[0]) if self.channelwise else 1, init=self.init)


class _SoftmaxBase(Activation):
    examples = (Example({}, ((10,),)), Example({"dim": 1, "temperature": 2.0}, ((3, 4),)))
    dim: int = Field(-1, description="Dimension to normalize (PyTorch convention: the batch is 0).")
    temperature: PositiveFloat = Field(1.0, description="softmax(x / T): T > 1 flattens, T < 1 sharpens.")
    log: ClassVar[bool] = False

    def output_shape(self, x: Shape) -> Shape:
        from .shapes import normalize_dim

        normalize_dim(self.dim, len(x))
        return x

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.activations import TemperatureSoftmax

        return TemperatureSoftmax(self.dim, self.temperature, log=self.log)


@register
class Softmax(_SoftmaxBase):
    """(*) → (*): exp(xᵢ/T) / Σⱼ exp(xⱼ/T) along `dim`: probabilities that sum to 1."""

    tag = "softmax"


@register
class LogSoftmax(_SoftmaxBase):
    """(*) → (*): log of softmax(x / T) along `dim` (pair with the nll loss)."""

    tag = "log_softmax"
    log = True


@register
class Step(Activation):
    """(*) → (*): Heaviside step, 1 where x > threshold else 0 (the perceptron; no gradient).

    Its gradient is zero almost everywhere, so gradient descent cannot train the weights before it
    (`netspec validate` warns); `train.program: perceptron` trains one linear unit ending in it with
    Rosenblatt's rule.
    """

    tag = "step"
    zero_gradient = True
    examples = (Example({}, ((8,),)), Example({"threshold": 0.5}, ((2, 3),)))
    threshold: float = Field(0.0, description="Inputs above this give 1.")

    def build(self, x: Shape) -> "nn.Module":
        from ..nn.activations import Step as StepModule

        return StepModule(self.threshold)


Heaviside = register(type("Heaviside", (Step,), {"__doc__": Step.__doc__, "tag": "heaviside",
                                                   "__module__": __name__}))
