"""Segmentation losses: (N, C, H, W) logits against (N, H, W) class masks, taken as they are (the
cross-entropy family in ``classification`` fits segmentation too)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import LOSSES, Loss, LossContext, LossFn


@LOSSES.register
class Dice(Loss):
    """Soft Dice loss (segmentation): 1 − mean over classes of (2·Σ p·g + smooth) / (Σ p + Σ g + smooth), p the
    softmax probabilities, g the one-hot mask."""
    type: Literal["dice"]
    smooth: float = Field(1.0, ge=0, description="Added to numerator and denominator (keeps absent classes finite).")
    include_background: bool = Field(True, description="Average class 0 too.")
    ignore_index: int = Field(-100, description="Pixels with this label count for no class.")
    EXAMPLE = "{type: dice, smooth: 0.5, include_background: false}"
    contract = "logits (C, H, W) and a class mask (H, W)"
    fits = frozenset({"segmentation"})
    expects_logits = True

    def build(self, ctx: LossContext) -> LossFn:
        from ..nn.losses import dice_loss

        return lambda o, y: dice_loss(o[0], y, self.smooth, self.include_background, self.ignore_index)
