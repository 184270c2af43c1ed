"""Optimizers: one class per optimizer in its own module, registered in ``OPTIMIZERS``.

Adding one is a module here with its class (see ``base.Optimizer`` for what it declares) and one
import line below. This package also holds the two rules about which optimizer a model gets:
``default_optimizer()`` (a spec that names none) and ``optimizer_for(train, model)``. It imports
no torch at module level (``netspec validate`` stays torch-free).
"""

from __future__ import annotations

from typing import Any, Optional

from .base import IMPL_KWARGS, Optimizer, ParamGroup
from .registry import OPTIMIZERS

# the optimizer modules, in the order of the docs and listings (each registers its class)
from . import sgd, adagrad, adadelta, rmsprop, adam, adamw, nadam, radam  # noqa: E402,F401  isort: skip
from . import adafactor  # noqa: E402,F401  isort: skip

#: the optimizer of a model whose spec names none (with its class's defaults)
DEFAULT = "adam"


def default_optimizer() -> Optimizer:
    """The optimizer a model gets when the spec names none."""
    return OPTIMIZERS.get(DEFAULT).model_validate({"type": DEFAULT})


def default_description() -> str:
    """``Default: adam, lr 0.001.`` (for the schema's description of ``train.optimizer``)."""
    return f"Default: {DEFAULT}, lr {default_optimizer().lr:g}."


def optimizer_for(train: Any, model: str, rule: Optional[Optimizer] = None) -> Optimizer:
    """The optimizer spec of ``model``: its entry in ``train.optimizers``, else ``train.optimizer``, else
    the program's ``rule`` (the optimizer of a program that never steps one), else the default.
    ``train`` may be None (a spec without a train section)."""
    if train is not None:
        chosen: Optional[Optimizer] = (train.optimizers or {}).get(model) or train.optimizer
        if chosen is not None:
            return chosen
    return rule or default_optimizer()


def fused_tags() -> list[str]:
    """The optimizers torch.optim has a fused implementation of (for hints and descriptions)."""
    return [tag for tag, cls in OPTIMIZERS.items() if cls.fused]


__all__ = ["DEFAULT", "IMPL_KWARGS", "OPTIMIZERS", "Optimizer", "ParamGroup", "default_description",
           "default_optimizer", "fused_tags", "optimizer_for"]
