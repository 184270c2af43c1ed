"""Regularization and transfer: L1/L2 penalties over selected parameters, gradient clipping (norm,
value, adaptive), max-norm constraints, freezing by node-name glob, pretrained weights.

Parameter selectors are globs over the compiled model's parameter names; ``*weight`` (the
default) selects weights only, so biases and norm shifts are not penalized.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from torch import nn

from ..errors import TrainError


def select(model: nn.Module, globs: list[str]) -> list[tuple[str, nn.Parameter]]:
    return [(n, p) for n, p in model.named_parameters() if any(fnmatchcase(n, g) for g in globs)]


def penalty_fn(reg: Any, model: nn.Module) -> Optional[Callable[[], torch.Tensor]]:
    """λ₁·Σ|w| + λ₂·Σw² over the selected parameters, or None when neither is set."""
    terms = []
    if reg.l1 is not None:
        params = [p for _, p in select(model, reg.l1.params)]
        terms.append((reg.l1.weight, params, lambda p: p.abs().sum()))
    if reg.l2 is not None:
        params = [p for _, p in select(model, reg.l2.params)]
        terms.append((reg.l2.weight, params, lambda p: p.pow(2).sum()))
    if not terms:
        return None

    def penalty() -> torch.Tensor:
        total = None
        for lam, params, f in terms:
            for p in params:
                v = lam * f(p)
                total = v if total is None else total + v
        return total if total is not None else torch.zeros(())
    return penalty


def unitwise_norm(x: torch.Tensor) -> torch.Tensor:
    """Norm per output unit (row of a linear weight, filter of a conv); whole-tensor for vectors."""
    if x.dim() <= 1:
        return x.norm(2)
    return x.norm(2, dim=tuple(range(1, x.dim())), keepdim=True)


def clip_fn(spec: Any, model: nn.Module) -> Optional[Callable[[], None]]:
    """The gradient clipping the spec asks for, applied to the (unscaled) gradients."""
    if spec is None:
        return None
    params = [p for p in model.parameters()]
    if spec.type == "norm":
        return lambda: torch.nn.utils.clip_grad_norm_(params, spec.max_norm, spec.norm_type)
    if spec.type == "value":
        return lambda: torch.nn.utils.clip_grad_value_(params, spec.clip_value)

    @torch.no_grad()
    def agc() -> None:
        for p in params:
            if p.grad is None:
                continue
            max_norm = unitwise_norm(p).clamp_min(spec.eps) * spec.clipping
            g_norm = unitwise_norm(p.grad)
            scale = torch.where(g_norm > max_norm, max_norm / g_norm.clamp_min(1e-6), torch.ones_like(g_norm))
            p.grad.mul_(scale)
    return agc


def max_norm_fn(spec: Any, model: nn.Module) -> Optional[Callable[[], None]]:
    """After each step, rescale each unit's weight vector to norm ≤ max_norm."""
    if spec is None:
        return None
    params = [p for _, p in select(model, spec.params) if p.dim() > 1]

    @torch.no_grad()
    def constrain() -> None:
        for p in params:
            norm = unitwise_norm(p)
            p.mul_(torch.clamp(spec.max_norm / norm.clamp_min(1e-12), max=1.0))
    return constrain


def set_trainable(model: nn.Module, globs: list[str], trainable: bool) -> int:
    """(Un)freeze parameters of nodes matching the globs (a node glob also matches its parameters)."""
    count = 0
    for name, p in model.named_parameters():
        if any(fnmatchcase(name, g) or fnmatchcase(name, g + ".*") for g in globs):
            p.requires_grad_(trainable)
            count += 1
    return count


def load_pretrained(spec: Any, model: nn.Module, base: Path) -> list[str]:
    """Copy weights from a local checkpoint (a netspec checkpoint or a plain state dict) into the
    model or one sub-graph, renaming prefixes by ``map``; returns the names loaded."""
    from ..checkpoint import read_file, run_checkpoint

    where = ("train", "pretrained", "path")
    try:  # a run directory means the weights that run reported (its best when it restored the best)
        path = run_checkpoint(Path(spec.path) if Path(spec.path).is_absolute() else base / spec.path)
    except TrainError as exc:
        raise exc.with_path(where) from None
    if not path.is_file():
        raise TrainError(f"pretrained checkpoint not found: {path}", path=where)

    try:
        blob = read_file(path)  # checksum verified when the file has one; weights_only
    except TrainError as exc:
        raise exc.with_path(where) from None
    if isinstance(blob, dict) and "models" in blob:
        models = blob["models"]
        name = spec.model or next(iter(models))
        if name not in models:
            raise TrainError(f"checkpoint has no model {name!r}", path=("train", "pretrained", "model"),
                             hint=f"models: {', '.join(models)}")
        source = models[name]
    else:
        source = blob
    renamed = {}
    for key, value in source.items():
        for old, new in spec.map.items():
            if key == old or key.startswith(old + "."):
                key = new + key[len(old):]
                break
        renamed[key] = value
    own = model.state_dict()
    prefix = spec.into + "." if spec.into else ""
    wanted = [k for k in own if k.startswith(prefix)]
    loaded, problems = [], []
    for key in wanted:
        if key not in renamed:
            problems.append(f"{key} missing")
        elif tuple(renamed[key].shape) != tuple(own[key].shape):
            problems.append(f"{key}: {tuple(renamed[key].shape)} vs {tuple(own[key].shape)}")
        else:
            loaded.append(key)
    if spec.strict and problems:
        raise TrainError(f"pretrained weights do not fit: {'; '.join(problems[:4])}" + (" …" if len(problems) > 4 else ""),
                         path=("train", "pretrained"), hint="map names with `map: {old_prefix: new_prefix}`, or strict: false")
    if not loaded:
        raise TrainError("no pretrained weights matched the model", path=("train", "pretrained"),
                         hint="check `into` and `map`")
    with torch.no_grad():
        for key in loaded:
            own[key].copy_(renamed[key])
    return loaded
