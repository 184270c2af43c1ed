"""``TrainPlan``: what a program's planning rules resolve (plain data, no torch), shared by
``netspec validate`` and the trainer. ``netspec.checks.plan`` builds it for the supervised program
and re-exports these names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ..errors import SpecPath
from ..metrics import direction


@dataclass
class LossBinding:
    """One loss term: its spec, the model outputs it reads, the data field with its target."""
    spec: Any
    outputs: tuple[str, ...]
    target: Optional[str]
    path: SpecPath


@dataclass
class TrainPlan:
    mode: str  # multiclass | binary | multilabel | regression | reconstruction | language_model
    num_classes: Optional[int]
    losses: list[LossBinding]
    metrics: list[Any]
    logged: list[str]
    monitor: Optional[str]  # None: no metric says which epoch is best (a GAN's losses); the last weights are kept
    monitor_mode: str
    input_fields: dict[str, Optional[str]] = field(default_factory=dict)  # model input -> data field (None: default)
    program: Any = None  # train.program (its settings: decoding, special tokens, ...)
    roles: dict[str, Any] = field(default_factory=dict)  # what a program's models/inputs/outputs do (gan: noise, condition, ...)
    per_position: bool = False  # classification with (..., C) logits: one class per position (token, node), classes last
    ignore_index: int = -100  # per_position: the target of positions no loss or metric counts (padding)


def monitor_mode(key: str, mode: str = "auto") -> str:
    """``min`` or ``max`` for a monitored key: ``mode`` unless auto, else the named metric's direction."""
    return mode if mode != "auto" else direction(key)
