"""Overlap metrics of segmentation (and any classification): the Jaccard index (IoU) and the Dice score.

Per class over the whole dataset (intersections and unions summed over every batch), then averaged
(macro by default, background included); binary and multilabel predictions are cut at the task's
threshold.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from .base import METRICS, MetricTask
from .classification import CLASSIFICATION, PerClassMetric


@METRICS.register
class JaccardIndex(PerClassMetric):
    """Intersection over union (Jaccard index), per class averaged."""

    type: Literal["iou"]
    TASKS = CLASSIFICATION
    HIGHER_IS_BETTER = True
    EXAMPLE = "{type: iou, average: macro}"
    CLASSES = ("BinaryJaccardIndex", "MultilabelJaccardIndex", "MulticlassJaccardIndex")


@METRICS.register
class DiceScore(PerClassMetric):
    """Dice score 2·|A∩B| / (|A| + |B|), per class averaged."""

    type: Literal["dice"]
    TASKS = CLASSIFICATION
    HIGHER_IS_BETTER = True
    EXAMPLE = "{type: dice}"
    # the Dice score of decisions is their F1 score; segmentation masks: torchmetrics' DiceScore below
    CLASSES = ("BinaryF1Score", "MultilabelF1Score", "MulticlassF1Score")

    def build(self, task: MetricTask) -> Any:
        if task.mode != "segmentation":
            return super().build(task)
        from torchmetrics import segmentation

        # over the whole dataset per class (like the Jaccard index), not per sample then averaged
        return _argmax()(segmentation.DiceScore(num_classes=task.classes, average=self.resolved_average, input_format="index",
                                   aggregation_level="global"))


@lru_cache(maxsize=1)
def _argmax() -> type:
    """A module that feeds class indices (argmax over dim 1) to a metric that wants them."""
    import torch

    class Argmax(torch.nn.Module):
        def __init__(self, metric: Any) -> None:
            super().__init__()
            self.metric = metric

        def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
            self.metric.update(preds.argmax(1), target)

        def compute(self) -> Any:
            return self.metric.compute()

        def reset(self) -> None:
            self.metric.reset()

    return Argmax
