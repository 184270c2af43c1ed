"""Regression metrics, over the flattened outputs and targets: MSE, RMSE, MAE and R²."""

from __future__ import annotations

from typing import Any, Literal

from .base import METRICS, Metric, MetricTask

REGRESSION = frozenset({"regression", "reconstruction"})


@METRICS.register
class MeanSquaredError(Metric):
    """Mean squared error."""

    type: Literal["mse"]
    TASKS = REGRESSION
    HIGHER_IS_BETTER = False
    EXAMPLE = "{type: mse}"

    def build(self, task: MetricTask) -> Any:
        import torchmetrics

        return torchmetrics.MeanSquaredError(squared=True)


@METRICS.register
class RootMeanSquaredError(Metric):
    """Root mean squared error."""

    type: Literal["rmse"]
    TASKS = REGRESSION
    HIGHER_IS_BETTER = False
    EXAMPLE = "{type: rmse}"

    def build(self, task: MetricTask) -> Any:
        import torchmetrics

        return torchmetrics.MeanSquaredError(squared=False)


@METRICS.register
class MeanAbsoluteError(Metric):
    """Mean absolute error."""

    type: Literal["mae"]
    TASKS = REGRESSION
    HIGHER_IS_BETTER = False
    EXAMPLE = "{type: mae}"

    def build(self, task: MetricTask) -> Any:
        import torchmetrics

        return torchmetrics.MeanAbsoluteError()


@METRICS.register
class R2Score(Metric):
    """Coefficient of determination R²."""

    type: Literal["r2"]
    TASKS = REGRESSION
    HIGHER_IS_BETTER = True
    EXAMPLE = "{type: r2}"

    def build(self, task: MetricTask) -> Any:
        import torchmetrics

        return torchmetrics.R2Score()
