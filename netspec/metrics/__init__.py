"""The metric registry: one class per metric (its options, tasks, direction, builder and docs).

Adding a metric is one class in one module, registered with ``@METRICS.register``, plus its module's
line below. The spec's ``train.metrics`` union, ``netspec schema``, the reference docs, the task
checks, the monitor direction and ``tests/test_component_metrics.py`` all derive from the registry.
Torch-free at import: builders import torchmetrics when called.
"""

from .base import AVERAGES, METRICS, AveragedMetric, Metric, MetricTask, direction, metric, metric_names, metric_shorthand, metrics_for

# the metric modules, in registration order (each registers its classes on import)
# isort: off
from . import classification  # noqa: F401  accuracy, precision, recall, f1, auroc, confusion_matrix
from . import regression  # noqa: F401  mse, rmse, mae, r2
from . import sequence  # noqa: F401  perplexity, exact_match
from . import overlap  # noqa: F401  iou, dice
from . import kappa  # noqa: F401  cohen_kappa
# isort: on

__all__ = ["AVERAGES", "METRICS", "AveragedMetric", "Metric", "MetricTask", "direction", "metric", "metric_names",
           "metric_shorthand", "metrics_for"]
