"""Applying initializers to tensors (the schema is netspec.spec.initializers; torch is imported
lazily so the schema stays torch-free)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .spec.initializers import (  # noqa: F401  (re-exported: the initializer classes)
    Constant, InitMap, Initializer, KaimingNormal, KaimingUniform, LecunNormal, LecunUniform, Normal, Ones,
    Orthogonal, TruncatedNormal, Uniform, XavierNormal, XavierUniform, Zeros,
)

if TYPE_CHECKING:  # pragma: no cover
    import torch


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
