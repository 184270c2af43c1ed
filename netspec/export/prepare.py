"""The export copy of a model: the same numbers in eval mode, in forms the ONNX exporter captures.

``export_copy(model)`` deep-copies the model (the caller's model is never changed) and then:

* switches to eval mode (dropout and noise off, batch norm on its running statistics);
* bakes weight_norm / spectral_norm parametrizations into plain weights (their eval-mode value);
* swaps recurrent modules that take ``lengths`` to the ONNX operators' ``sequence_lens`` form
  (netspec.export.rnn), because packed sequences cannot be captured;
* replaces adaptive pooling by explicit windows computed from the (static) input size, because
  the exporter has no mapping for adaptive max pooling (and 3-d average pooling) to sizes above 1;
  output size 1 becomes a plain reduction, which works at any size;
* runs scaled_dot_product_attention on 3-d inputs as 4-d (the ONNX mapping takes 4-d only);
* moves the model under a wrapper when a top-level name clashes with an attribute of
  ``torch.fx.GraphModule`` (a node named ``code`` or ``graph`` breaks the exporter).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from . import rnn


def export_copy(model: nn.Module) -> nn.Module:
    m = copy.deepcopy(model).eval()
    _bake_parametrizations(m)
    for name, module in list(m.named_modules()):
        if rnn.export_form(module) or _sdpa_form(module):
            continue
        if isinstance(module, _ADAPTIVE):
            _replace(m, name, AdaptivePoolWindows.like(module))
    if _clashes(m):
        m = _Wrapped(m)
    return m


def _bake_parametrizations(model: nn.Module) -> None:
    from torch.nn.utils import parametrize

    for module in list(model.modules()):
        if parametrize.is_parametrized(module):
            for pname in list(module.parametrizations.keys()):  # type: ignore[union-attr]
                parametrize.remove_parametrizations(module, pname, leave_parametrized=True)


_ADAPTIVE = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
             nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)


class AdaptivePoolWindows(nn.Module):
    """Adaptive average/max pooling as PyTorch defines it (window i of an axis of size n pooled
    to m covers [⌊i·n/m⌋, ⌈(i+1)·n/m⌉)), axis by axis: both reductions are separable over the
    rectangular windows. Axes pooled to 1 are reduced whole; other axes need a static size."""

    def __init__(self, op: str, output_size: tuple) -> None:
        super().__init__()
        self.op, self.output_size = op, output_size

    @classmethod
    def like(cls, module: nn.Module) -> "AdaptivePoolWindows":
        nd = int(type(module).__name__[-2])
        size = module.output_size  # type: ignore[attr-defined]
        sizes = (size,) * nd if isinstance(size, int) or size is None else tuple(size)
        return cls("mean" if "Avg" in type(module).__name__ else "amax", sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nd = len(self.output_size)
        for i, out in enumerate(self.output_size):
            axis = x.dim() - nd + i
            x = self._pool(x, axis, x.shape[axis] if out is None else out)
        return x

    def _pool(self, x: torch.Tensor, axis: int, out: int) -> torch.Tensor:
        size = x.shape[axis]
        if out == 1:
            return getattr(x, self.op)(axis, keepdim=True)
        if size == out:
            return x
        if size % out == 0:
            step = size // out
            return getattr(x.unflatten(axis, (out, step)), self.op)(axis + 1)
        parts = []
        for i in range(out):
            start, end = (i * size) // out, math.ceil((i + 1) * size / out)
            parts.append(getattr(x.narrow(axis, start, end - start), self.op)(axis, keepdim=True))
        return torch.cat(parts, axis)

    def extra_repr(self) -> str:
        return f"op={self.op}, output_size={self.output_size}"


def _replace(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, leaf = name.rpartition(".")
    setattr(root.get_submodule(parent_name) if parent_name else root, leaf, new)


class _Sdpa4d:
    """scaled_dot_product_attention on (N, L, E) inputs, run as (N, 1, L, E)."""

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if q.dim() == 3:
            return super().forward(q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1)).squeeze(1)  # type: ignore[misc]
        return super().forward(q, k, v)  # type: ignore[misc]


def _sdpa_form(module: nn.Module) -> bool:
    from ..nn.attention import ScaledDotProductAttention

    if type(module) is not ScaledDotProductAttention:
        return False
    module.__class__ = type("OnnxScaledDotProductAttention", (_Sdpa4d, ScaledDotProductAttention), {})
    return True


def _clashes(model: nn.Module) -> bool:
    reserved = set(dir(torch.fx.GraphModule))
    return any(name in reserved for name, _ in model.named_children()) or \
        any(name.split(".")[0] in reserved for name, _ in model.named_parameters())


class _Wrapped(nn.Module):
    """Holds the model as ``model`` (initializers are then named ``model.<state-dict name>``)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *args: torch.Tensor):
        return self.model(*args)
