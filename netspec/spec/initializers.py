"""Initializer schema: the ``init:`` values of a spec (plain pydantic, no torch).

A node's ``init`` maps parameter-name globs to initializers::

    init: {weight: kaiming_normal, bias: zeros}
    init: {weight: {type: kaiming_normal, mode: fan_out, nonlinearity: relu}, "weight_hh*": orthogonal}

and the model's ``init`` gives defaults per layer type (``{conv2d: {weight: kaiming_normal}}``).
Lookup order for a parameter: the node's own globs, then the model's defaults for the node's
layer type; if neither matches, a bias is zeroed and anything else keeps PyTorch's default.
``netspec.init`` applies them to tensors.
"""

from typing import Literal, Union

from pydantic import Field

from .base import PositiveFloat, StrictModel, tagged

Nonlinearity = Literal["linear", "conv1d", "conv2d", "conv3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
Gain = Union[PositiveFloat, Nonlinearity]


class Zeros(StrictModel):
    """All zeros."""
    type: Literal["zeros"]


class Ones(StrictModel):
    """All ones."""
    type: Literal["ones"]


class Constant(StrictModel):
    """Every element equal to `value`."""
    type: Literal["constant"]
    value: float = Field(description="The constant.")


class Normal(StrictModel):
    """N(mean, std²)."""
    type: Literal["normal"]
    mean: float = 0.0
    std: PositiveFloat = 1.0


class Uniform(StrictModel):
    """U(a, b)."""
    type: Literal["uniform"]
    a: float = 0.0
    b: float = 1.0


class TruncatedNormal(StrictModel):
    """N(mean, std²) redrawn outside [a, b] (absolute bounds)."""
    type: Literal["truncated_normal"]
    mean: float = 0.0
    std: PositiveFloat = 1.0
    a: float = -2.0
    b: float = 2.0


class XavierUniform(StrictModel):
    """Glorot: U(±gain·√(6/(fan_in+fan_out))); suits tanh/sigmoid."""
    type: Literal["xavier_uniform"]
    gain: Gain = Field(1.0, description="A number, or a nonlinearity whose recommended gain to use.")


class XavierNormal(StrictModel):
    """Glorot: N(0, gain²·2/(fan_in+fan_out)); suits tanh/sigmoid."""
    type: Literal["xavier_normal"]
    gain: Gain = Field(1.0, description="A number, or a nonlinearity whose recommended gain to use.")


class KaimingUniform(StrictModel):
    """He: U(±gain·√(3/fan)); suits the ReLU family."""
    type: Literal["kaiming_uniform"]
    a: float = Field(0.0, description="Negative slope of the rectifier (leaky_relu).")
    mode: Literal["fan_in", "fan_out"] = "fan_in"
    nonlinearity: Nonlinearity = "leaky_relu"


class KaimingNormal(StrictModel):
    """He: N(0, gain²/fan); suits the ReLU family."""
    type: Literal["kaiming_normal"]
    a: float = Field(0.0, description="Negative slope of the rectifier (leaky_relu).")
    mode: Literal["fan_in", "fan_out"] = "fan_in"
    nonlinearity: Nonlinearity = "leaky_relu"


class LecunNormal(StrictModel):
    """LeCun: N(0, 1/fan_in); pairs with selu."""
    type: Literal["lecun_normal"]


class LecunUniform(StrictModel):
    """LeCun: U(±√(3/fan_in))."""
    type: Literal["lecun_uniform"]


class Orthogonal(StrictModel):
    """A (semi-)orthogonal matrix times gain; common for recurrent weights."""
    type: Literal["orthogonal"]
    gain: Gain = 1.0


Initializer = tagged(
    Union[Zeros, Ones, Constant, Normal, Uniform, TruncatedNormal, XavierUniform, XavierNormal,
          KaimingUniform, KaimingNormal, LecunNormal, LecunUniform, Orthogonal],
    "An initializer: a name (`zeros`) or {type: name, ...arguments}.",
)
#: parameter-name glob -> initializer, e.g. {weight: kaiming_normal, bias: zeros}
InitMap = dict[str, Initializer]
