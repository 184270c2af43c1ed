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


@LOSSES.register
class Quantile(Loss):
    """Quantile (pinball) loss: mean of max(q·r, (q − 1)·r), r = target − output. Minimizing it makes the
    output the q-quantile of the target (q = 0.5: the median, half the mean absolute error), e.g. the
    upper end of a prediction interval with q = 0.9."""
    type: Literal["quantile"]
    q: float = Field(0.5, gt=0, lt=1, description="The quantile the output estimates (0 < q < 1).")
    EXAMPLE = "{type: quantile, q: 0.9}"
    contract = SAME_SHAPE
    fits = REAL

    def build(self, ctx: LossContext) -> LossFn:
        import torch

        from ..nn.losses import fit

        q = self.q

        def pinball(o: tuple[torch.Tensor, ...], y: torch.Tensor) -> torch.Tensor:
            r = fit(o[0], y, True) - o[0]
            return torch.maximum(q * r, (q - 1) * r).mean()
        return pinball
