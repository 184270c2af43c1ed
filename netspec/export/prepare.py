"""The export copy of a model: the same numbers in eval mode, in forms the ONNX exporter captures.

``export_copy(model)`` deep-copies the model (the caller's model is never changed) and then:
(modules are changed in place, by class swap, because a compiled GraphModule keeps references
to its modules)

* switches to eval mode (dropout and noise off, batch norm on its running statistics);
* bakes weight_norm / spectral_norm parametrizations into plain weights (their eval-mode value);
* swaps recurrent modules to the ONNX recurrent operators (netspec.export.rnn), because packed
  sequences cannot be captured and aten.lstm/gru bake the example sequence length;
* computes adaptive pooling with explicit windows from the (static) input size, because
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
    for module in list(m.modules()):
        if rnn.export_form(module) or _sdpa_form(module):
            continue
        if isinstance(module, _ADAPTIVE):
            _adaptive_form(module)
    if _clashes(m):
        m = _Wrapped(m)
    return m


def _bake_parametrizations(model: nn.Module) -> None:
    from torch.nn.utils import parametrize

    for module in list(model.modules()):
        if parametrize.is_parametrized(module):
            # the copy shares its Parametrized* class with the original, and removing deletes the
            # class's properties: give the copy a class of its own first
            cls = type(module)
            module.__class__ = type(cls.__name__, cls.__bases__, dict(cls.__dict__))
            for pname in list(module.parametrizations.keys()):  # type: ignore[union-attr]
                parametrize.remove_parametrizations(module, pname, leave_parametrized=True)


_ADAPTIVE = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
             nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)


def adaptive_pool(x: torch.Tensor, op: str, sizes: tuple) -> torch.Tensor:
    """Adaptive average (``op="mean"``) or max (``"amax"``) pooling of the last ``len(sizes)``
    axes as PyTorch defines it: window i of an axis of size n pooled to m covers
    [⌊i·n/m⌋, ⌈(i+1)·n/m⌉). Axis by axis, since both reductions are separable over rectangular
    windows. An axis pooled to 1 is reduced whole (any size); others need a static size."""
    for i, out in enumerate(sizes):
        axis = x.dim() - len(sizes) + i
        size = x.shape[axis]
        if out is None or out == size:
            continue
        if out == 1:
            x = getattr(x, op)(axis, keepdim=True)
        elif size % out == 0:
            x = getattr(x.unflatten(axis, (out, size // out)), op)(axis + 1)
        else:
            bounds = [((j * size) // out, math.ceil((j + 1) * size / out)) for j in range(out)]
            x = torch.cat([getattr(x.narrow(axis, a, b - a), op)(axis, keepdim=True) for a, b in bounds], axis)
    return x


class _AdaptiveWindows:
    """Put in front of a torch adaptive pooling class (on the export copy)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return adaptive_pool(x, *pool_spec(self))  # type: ignore[arg-type]


def pool_spec(module: nn.Module) -> tuple[str, tuple]:
    """("mean" | "amax", output size per pooled axis) of a torch adaptive pooling module."""
    name = type(module).__name__
    nd = int(name[name.index("Pool") + 4])
    size = module.output_size  # type: ignore[attr-defined]
    sizes = (size,) * nd if isinstance(size, int) or size is None else tuple(size)
    return ("mean" if "Avg" in name else "amax"), sizes


def _adaptive_form(module: nn.Module) -> None:
    cls = type(module)
    module.__class__ = type(f"Onnx{cls.__name__}", (_AdaptiveWindows, cls), {})


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
