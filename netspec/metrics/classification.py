"""Classification metrics: accuracy, precision, recall, F1, AUROC and the confusion matrix.

Each follows torchmetrics' ``Binary*``, ``Multilabel*`` or ``Multiclass*`` class, picked by the task
mode: binary and multilabel read probabilities (thresholded at the task's ``threshold``),
multiclass, segmentation and per-position tasks read logits (argmax) against class indices, the
padding's ``ignore_index`` skipped. Accuracy, precision, recall, F1 and the confusion matrix are
counted by netspec (``netspec.nn.metric_counts``: the same numbers, without importing torchmetrics into every
run); AUROC is torchmetrics' class.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Optional

from pydantic import Field

from .base import FAST, METRICS, Average, AveragedMetric, Metric, MetricTask

CLASSIFICATION = frozenset({"binary", "multiclass", "multilabel", "segmentation"})


class PerClassMetric(AveragedMetric):
    """A metric with torchmetrics ``Binary*`` / ``Multilabel*`` / ``Multiclass*`` classes (named in ``CLASSES``)."""

    CLASSES: ClassVar[tuple[str, str, str]]
    #: binary and multilabel predictions are cut at the task's threshold (AUROC ranks the scores instead)
    THRESHOLDED: ClassVar[bool] = True

    #: counted by netspec.nn.metric_counts under this name (None: torchmetrics' class)
    COUNTED: ClassVar[Optional[str]] = None

    def build(self, task: MetricTask) -> Any:
        if self.COUNTED is not None:
            from ..nn.metric_counts import counted

            return counted(self.COUNTED, task, self.resolved_average)
        from torchmetrics import classification

        binary, multilabel, multiclass = self.CLASSES
        cut = {"threshold": task.threshold} if self.THRESHOLDED else {}
        if task.mode == "binary":
            return getattr(classification, binary)(**cut, **FAST)
        if task.mode == "multilabel":
            return getattr(classification, multilabel)(num_labels=task.classes, average=self.resolved_average, **cut, **FAST)
        return getattr(classification, multiclass)(num_classes=task.classes, average=self.resolved_average,
                                                   **task.ignore(), **FAST)


@METRICS.register
class Accuracy(PerClassMetric):
    """Share of correct predictions (micro by default: over all samples; macro: per class, then the mean).
    In language-model and seq2seq tasks, the share of correct tokens (padding ignored)."""

    type: Literal["accuracy"]
    average: Optional[Average] = Field(
        None, description="Over classes: micro pools every class's counts, macro averages the per-class values (default: micro).")
    DEFAULT_AVERAGE = "micro"
    TASKS = CLASSIFICATION | {"language_model", "seq2seq"}
    HIGHER_IS_BETTER = True
    EXAMPLE = "{type: accuracy, average: macro}"
    CLASSES = ("BinaryAccuracy", "MultilabelAccuracy", "MulticlassAccuracy")
    COUNTED = "accuracy"


@METRICS.register
class Precision(PerClassMetric):
    """True positives / predicted positives, per class averaged (macro by default)."""

    type: Literal["precision"]
    TASKS = CLASSIFICATION
    HIGHER_IS_BETTER = True
    EXAMPLE = "{type: precision}"
    CLASSES = ("BinaryPrecision", "MultilabelPrecision", "MulticlassPrecision")
    COUNTED = "precision"


@METRICS.register
class Recall(PerClassMetric):
    """True positives / actual positives, per class averaged (macro by default)."""

    type: Literal["recall"]
    TASKS = CLASSIFICATION
    HIGHER_IS_BETTER = True
    EXAMPLE = "{type: recall, average: micro}"
    CLASSES = ("BinaryRecall", "MultilabelRecall", "MulticlassRecall")
    COUNTED = "recall"


@METRICS.register
class F1Score(PerClassMetric):
    """Harmonic mean of precision and recall (`f1_macro`, `f1_micro`)."""

    type: Literal["f1"]
    TASKS = CLASSIFICATION
    HIGHER_IS_BETTER = True
    EXAMPLE = "{type: f1, average: macro}"
    CLASSES = ("BinaryF1Score", "MultilabelF1Score", "MulticlassF1Score")
    COUNTED = "f1"


@METRICS.register
class AUROC(PerClassMetric):
    """Area under the ROC curve from the predicted probabilities (one class against the rest, macro by default)."""

    type: Literal["auroc"]
    TASKS = frozenset({"binary", "multiclass", "multilabel"})
    HIGHER_IS_BETTER = True
    EXAMPLE = "{type: auroc}"
    CLASSES = ("BinaryAUROC", "MultilabelAUROC", "MulticlassAUROC")
    THRESHOLDED = False


@METRICS.register
class ConfusionMatrix(Metric):
    """Counts of (true, predicted) class pairs; logged as a list of lists and plotted in the run report."""

    type: Literal["confusion_matrix"]
    TASKS = CLASSIFICATION
    HIGHER_IS_BETTER = False  # a matrix: nothing to monitor
    EXAMPLE = "{type: confusion_matrix}"

    def build(self, task: MetricTask) -> Any:
        from ..nn.metric_counts import counted

        return counted("confusion_matrix", task, "micro")
