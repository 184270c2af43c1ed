"""Regression losses: the output and the target have the same shape (a (N,) target for a (N, 1)
output is viewed as (N, 1) and cast to float)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..strict import PositiveFloat
from .base import LOSSES, Loss, LossContext, LossFn

SAME_SHAPE = "output and target of the same shape"
REAL = frozenset({"regression", "reconstruction"})


@LOSSES.register
class Mse(Loss):
    """Mean squared error (nn.MSELoss): mean of (output − target)²."""
    type: Literal["mse"]
    EXAMPLE = "{type: mse}"
    contract = SAME_SHAPE
    fits = REAL

    def build(self, ctx: LossContext) -> LossFn:
        from torch import nn

        from ..nn.losses import on_first

        return on_first(nn.MSELoss())


@LOSSES.register
class Mae(Loss):
    """Mean absolute error (nn.L1Loss): mean of |output − target|."""
    type: Literal["mae"]
    EXAMPLE = "{type: mae}"
    contract = SAME_SHAPE
    fits = REAL

    def build(self, ctx: LossContext) -> LossFn:
        from torch import nn

        from ..nn.losses import on_first

        return on_first(nn.L1Loss())


@LOSSES.register
class Huber(Loss):
    """Huber loss (nn.HuberLoss): squared below `delta`, linear (slope `delta`) above."""
    type: Literal["huber"]
    delta: PositiveFloat = Field(1.0, description="Where the loss turns from quadratic to linear.")
    EXAMPLE = "{type: huber, delta: 0.5}"
    contract = SAME_SHAPE
    fits = REAL

    def build(self, ctx: LossContext) -> LossFn:
        from torch import nn

        from ..nn.losses import on_first

        return on_first(nn.HuberLoss(delta=self.delta))


@LOSSES.register
class SmoothL1(Loss):
    """Smooth L1 loss (nn.SmoothL1Loss): the Huber loss divided by `beta`."""
    type: Literal["smooth_l1"]
    beta: PositiveFloat = Field(1.0, description="Where the loss turns from quadratic to linear.")
    EXAMPLE = "{type: smooth_l1, beta: 0.3}"
    contract = SAME_SHAPE
    fits = REAL

    def build(self, ctx: LossContext) -> LossFn:
        from torch import nn

        from ..nn.losses import on_first

        return on_first(nn.SmoothL1Loss(beta=self.beta))
