"""Loss functions from the spec: ``build_loss`` returns ``fn(outputs, target) -> scalar`` from the
loss class's own builder (``netspec.losses``: one class per loss; an unknown type raises
``UnknownComponent``, never falls through); ``outputs`` is the tuple of model outputs the loss is
bound to. The torch side (focal, contrastive, soft Dice, target reshaping) is ``netspec.nn.losses``.
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from ..losses import LOSSES, LossContext, LossFn
from ..nn.losses import contrastive_loss, dice_loss, focal_loss, positions

__all__ = ["LossContext", "LossFn", "build_loss", "contrastive_loss", "dice_loss", "focal_loss", "positions"]


def build_loss(spec: Any, mode: str, class_weights: Optional[torch.Tensor] = None, ignore_index: int = -100) -> LossFn:
    """``fn(outputs, target)`` for a loss spec; ``class_weights`` apply unless the spec gives its own;
    ``ignore_index`` marks the targets of positions that count for no loss that has no ``ignore_index`` of
    its own (focal, hinge). An unknown type is an error, never a fall-through."""
    LOSSES.of(spec)  # an unknown type raises here, before anything is built
    own = getattr(spec, "class_weights", None)
    weight = class_weights if own is None or own == "auto" else torch.tensor(own, dtype=torch.float32)
    fn: LossFn = spec.build(LossContext(mode, weight, ignore_index))
    return fn
