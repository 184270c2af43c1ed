"""Initializers: the schema (plain pydantic) and how to apply them (torch, imported lazily).

A node's ``init`` maps parameter-name globs to initializers::

    init: {weight: kaiming_normal, bias: zeros}
    init: {weight: {type: kaiming_normal, mode: fan_out, nonlinearity: relu}, "weight_hh*": orthogonal}

and the model's ``init`` gives defaults per layer type (``{conv2d: {weight: kaiming_normal}}``).
Lookup order for a parameter: the node's own globs, then the model's defaults for the node's
layer type; if neither matches, a bias is zeroed and anything else keeps PyTorch's default.
"""

import math
from typing import TYPE_CHECKING, Literal, Union

from pydantic import Field

from .spec.base import PositiveFloat, StrictModel, tagged

if TYPE_CHECKING:  # pragma: no cover
    import torch

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


def _gain(gain: float | str) -> float:
    import torch.nn.init as I

    return I.calculate_gain(gain) if isinstance(gain, str) else float(gain)


def _fan_in(t: "torch.Tensor") -> int:
    return t.shape[1] * (math.prod(t.shape[2:]) if t.dim() > 2 else 1) if t.dim() > 1 else t.shape[0]


def apply(init: object, tensor: "torch.Tensor") -> None:
    """Fill ``tensor`` in place (no grad) with the given initializer."""
    import torch
    import torch.nn.init as I

    with torch.no_grad():
        if isinstance(init, Zeros):
            tensor.zero_()
        elif isinstance(init, Ones):
            tensor.fill_(1.0)
        elif isinstance(init, Constant):
            tensor.fill_(init.value)
        elif isinstance(init, Normal):
            tensor.normal_(init.mean, init.std)
        elif isinstance(init, Uniform):
            tensor.uniform_(init.a, init.b)
        elif isinstance(init, TruncatedNormal):
            I.trunc_normal_(tensor, init.mean, init.std, init.a, init.b)
        elif isinstance(init, XavierUniform):
            I.xavier_uniform_(tensor, _gain(init.gain))
        elif isinstance(init, XavierNormal):
            I.xavier_normal_(tensor, _gain(init.gain))
        elif isinstance(init, KaimingUniform):
            I.kaiming_uniform_(tensor, init.a, init.mode, init.nonlinearity)
        elif isinstance(init, KaimingNormal):
            I.kaiming_normal_(tensor, init.a, init.mode, init.nonlinearity)
        elif isinstance(init, LecunNormal):
            tensor.normal_(0.0, 1.0 / math.sqrt(_fan_in(tensor)))
        elif isinstance(init, LecunUniform):
            bound = math.sqrt(3.0 / _fan_in(tensor))
            tensor.uniform_(-bound, bound)
        elif isinstance(init, Orthogonal):
            I.orthogonal_(tensor, _gain(init.gain))
        else:  # pragma: no cover - the schema admits nothing else
            raise TypeError(f"unknown initializer {init!r}")
