"""Agreement beyond chance: Cohen's kappa."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import Field

from .base import FAST, METRICS, Metric, MetricTask


@METRICS.register
class CohenKappa(Metric):
    """Cohen's kappa: agreement of the predicted and true classes beyond what chance gives,
    (p_o − p_e) / (1 − p_e); 1 is perfect, 0 is chance level. Binary predictions are cut at the
    task's threshold."""

    type: Literal["cohen_kappa"]
    weights: Optional[Literal["linear", "quadratic"]] = Field(
        None, description="Penalize disagreements by class distance (ordinal classes): linear or quadratic (default: none).")
    TASKS = frozenset({"binary", "multiclass"})
    HIGHER_IS_BETTER = True
    EXAMPLE = "{type: cohen_kappa, weights: quadratic}"

    def build(self, task: MetricTask) -> Any:
        from torchmetrics import classification as C

        if task.mode == "binary":
            return C.BinaryCohenKappa(threshold=task.threshold, weights=self.weights, **FAST)
        return C.MulticlassCohenKappa(num_classes=task.classes, weights=self.weights, **task.ignore(), **FAST)
