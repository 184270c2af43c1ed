"""Optimizers from the spec, with parameter groups chosen by node-name globs.

Parameter names are the compiled model's (``hidden1.weight``, ``layer1.0.conv1.weight``). Each
parameter joins the first group whose glob matches (own lr / weight decay), else the default
group; ``no_decay: [bias, norm]`` moves biases and normalization parameters to a twin group with
weight_decay 0. The spec's hyperparameters map one to one onto torch.optim's arguments.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import torch
from torch import nn

CLASSES = {"sgd": "SGD", "adagrad": "Adagrad", "adadelta": "Adadelta", "rmsprop": "RMSprop", "adam": "Adam",
           "adamw": "AdamW", "nadam": "NAdam", "radam": "RAdam"}
NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)


def optimizer_kwargs(spec: Any) -> dict[str, Any]:
    """The torch.optim keyword arguments of an optimizer spec."""
    kwargs = spec.model_dump(exclude={"type", "groups", "no_decay"})
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    return kwargs


def _norm_params(model: nn.Module) -> set[str]:
    out = set()
    for mname, module in model.named_modules():
        if isinstance(module, NORMS):
            out.update(f"{mname}.{p}" if mname else p for p, _ in module.named_parameters(recurse=False))
    return out


def param_groups(spec: Any, model: nn.Module) -> list[dict[str, Any]]:
    norms = _norm_params(model) if "norm" in spec.no_decay else set()
    buckets: dict[tuple[int, bool], list] = {}
    for name, param in model.named_parameters():
        gi = next((i for i, g in enumerate(spec.groups) if any(fnmatchcase(name, p) for p in g.params)), -1)
        no_decay = ("bias" in spec.no_decay and name.rsplit(".", 1)[-1].startswith("bias")) or name in norms
        buckets.setdefault((gi, no_decay), []).append(param)
    groups = []
    for (gi, no_decay), params in sorted(buckets.items(), key=lambda kv: kv[0]):
        group: dict[str, Any] = {"params": params}
        if gi >= 0:
            g = spec.groups[gi]
            if g.lr is not None:
                group["lr"] = g.lr
            if g.weight_decay is not None:
                group["weight_decay"] = g.weight_decay
        if no_decay:
            group["weight_decay"] = 0.0
        groups.append(group)
    return groups


def build_optimizer(spec: Any, model: nn.Module) -> torch.optim.Optimizer:
    cls = getattr(torch.optim, CLASSES[spec.type])
    return cls(param_groups(spec, model), **optimizer_kwargs(spec))
