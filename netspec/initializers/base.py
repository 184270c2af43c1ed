"""The initializer registry and the interface every initializer implements (no torch at import).

An initializer is one pydantic class registered with ``@INITIALIZERS.register``: its ``type`` tag and
arguments are the schema of an ``init:`` value, its docstring the documentation, ``EXAMPLE`` a YAML
flow mapping for the docs and the registry-wide test, and ``fill_`` the torch code that fills a
tensor in place (torch is imported inside it, so ``netspec validate`` stays torch-free).
``apply`` runs ``fill_`` without autograd; an unregistered object raises ``UnknownComponent``.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from ..registry import Registry
from ..strict import PositiveFloat, StrictModel

if TYPE_CHECKING:  # pragma: no cover
    import torch


Nonlinearity = Literal["linear", "conv1d", "conv2d", "conv3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
Gain = PositiveFloat | Nonlinearity
GAIN_DESCRIPTION = "A number, or a nonlinearity whose recommended gain to use."
SLOPE_DESCRIPTION = "Negative slope of the rectifier (leaky_relu)."
MODE_DESCRIPTION = "fan_in keeps the forward pass's variance, fan_out the backward pass's."
NONLINEARITY_DESCRIPTION = "The nonlinearity that follows (its recommended gain is used)."


class Initializer(StrictModel):
    """An initializer: fills a parameter tensor in place."""

    EXAMPLE: ClassVar[str]

    @abstractmethod
    def fill_(self, tensor: torch.Tensor) -> None:
        """Fill ``tensor`` in place (called under ``torch.no_grad()``)."""

    def apply(self, tensor: torch.Tensor) -> None:
        """Fill ``tensor`` in place, without autograd."""
        import torch

        INITIALIZERS.of(self)  # an unregistered initializer is a bug: raise, never guess
        with torch.no_grad():
            self.fill_(tensor)


INITIALIZERS: Registry[type[Initializer]] = Registry("initializer")


def gain(value: float | Nonlinearity) -> float:
    """A gain given as a number or as the name of a nonlinearity (torch's recommended gain)."""
    import torch.nn.init as I

    return I.calculate_gain(value) if isinstance(value, str) else float(value)


def fan_in(t: torch.Tensor) -> int:
    """Inputs per output unit: dim 1 times the receptive field (dim 0 for a vector)."""
    return t.shape[1] * (math.prod(t.shape[2:]) if t.dim() > 2 else 1) if t.dim() > 1 else t.shape[0]


class Kaiming(Initializer):
    """He initialization's parameters (kaiming_uniform, kaiming_normal): ``torch_init`` names the torch function."""
    a: float = Field(0.0, description=SLOPE_DESCRIPTION)
    mode: Literal["fan_in", "fan_out"] = Field("fan_in", description=MODE_DESCRIPTION)
    nonlinearity: Nonlinearity = Field("leaky_relu", description=NONLINEARITY_DESCRIPTION)

    torch_init: ClassVar[str]

    def fill_(self, tensor: "torch.Tensor") -> None:
        import torch.nn.init as I

        getattr(I, self.torch_init)(tensor, self.a, self.mode, self.nonlinearity)
