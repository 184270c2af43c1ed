"""The metric registry's base: what every metric declares, the YAML shorthand, the monitor direction.

A metric is one ``Metric`` subclass registered in ``METRICS``: its ``type`` tag, its options (pydantic
fields), its docstring (the reference page), an ``EXAMPLE``, and its rules as class attributes:

* ``TASKS``: the task modes it fits (``binary``, ``multiclass``, ``multilabel``, ``segmentation``,
  ``regression``, ``reconstruction``, ``language_model``, ``seq2seq``); a spec listing it for another
  task is a located error;
* ``HIGHER_IS_BETTER``: the direction early stopping, ``reduce_on_plateau``, the "best" checkpoint
  and ``tune`` follow when the metric is monitored with ``mode: auto``;
* whether it takes ``average`` (subclass ``AveragedMetric``; ``f1_macro`` is shorthand for
  ``{type: f1, average: macro}``);
* ``build(task)``: the torchmetrics object for a ``MetricTask`` (torch is imported there, never at
  module level: ``netspec validate`` stays torch-free).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Optional

from pydantic import Field

from ..registry import Registry
from ..strict import StrictModel

#: the averages an ``AveragedMetric`` takes, which are also the ``<type>_<average>`` shorthand's suffixes
AVERAGES = ("macro", "micro")
Average = Literal["micro", "macro"]
#: torchmetrics' per-batch argument checks are skipped: inputs come from our own model and data checks
FAST: dict[str, Any] = {"validate_args": False}


@dataclass(frozen=True)
class MetricTask:
    """What a metric is built for: the task mode, the classes, the decision threshold, the ignored target."""
    mode: str
    num_classes: Optional[int] = None
    threshold: float = 0.5
    ignore_index: Optional[int] = None

    @property
    def classes(self) -> int:
        """The number of classes (labels for multilabel); 2 when the plan does not know it."""
        return self.num_classes or 2

    def ignore(self) -> dict[str, Any]:
        """``ignore_index`` keyword for torchmetrics, when targets carry one (padded positions)."""
        return {"ignore_index": self.ignore_index} if self.ignore_index is not None else {}


class Metric(StrictModel):
    """Base of every metric: logged as ``<split>.<key>``."""

    TASKS: ClassVar[frozenset[str]]
    HIGHER_IS_BETTER: ClassVar[bool]
    EXAMPLE: ClassVar[str]
    #: it reads whole sequences (N, L, V) in language-model and seq2seq tasks, not flattened positions
    SEQUENCES: ClassVar[bool] = False
    #: it is updated with decoded sequences by the seq2seq program, not with logits
    DECODED: ClassVar[bool] = False

    type: str
    name: Optional[str] = Field(None, description="Key in the logs (default: type, or type_average when average is given).")

    @property
    def key(self) -> str:
        if self.name:
            return self.name
        average = getattr(self, "average", None)
        return f"{self.type}_{average}" if average else self.type

    @classmethod
    def takes_average(cls) -> bool:
        return issubclass(cls, AveragedMetric)

    @classmethod
    def direction(cls) -> str:
        """``max`` or ``min``: which way is better when the metric is monitored."""
        return "max" if cls.HIGHER_IS_BETTER else "min"

    def build(self, task: MetricTask) -> Any:
        """The torchmetrics object (``update(preds, target)``, ``compute()``, ``reset()``) for ``task``."""
        raise NotImplementedError(f"metric {self.type!r} has no builder")


class AveragedMetric(Metric):
    """A per-class metric that takes ``average`` (``<type>_macro`` / ``<type>_micro`` in a list)."""

    DEFAULT_AVERAGE: ClassVar[Average] = "macro"

    average: Optional[Average] = Field(
        None, description="Over classes: micro pools every class's counts, macro averages the per-class values "
                          "(default: macro).")

    @property
    def resolved_average(self) -> Average:
        return self.average or self.DEFAULT_AVERAGE


METRICS: Registry[type[Metric]] = Registry("metric")


def metric_shorthand(value: Any) -> Any:
    """``f1_macro`` is shorthand for {type: f1, average: macro}; ``accuracy`` for {type: accuracy}."""
    if isinstance(value, str):
        for average in AVERAGES:
            base = value.removesuffix("_" + average)
            if base != value and base in METRICS and METRICS.get(base).takes_average():
                return {"type": base, "average": average}
        return {"type": value}
    return value


def metric(value: Any) -> Metric:
    """A metric from its shorthand or mapping (``"f1_macro"``, ``{type: auroc}``), for defaults."""
    data = metric_shorthand(value)
    return METRICS.get(data["type"]).model_validate(data)


def metric_names() -> list[str]:
    """Every name a metrics list accepts: the tags, then ``<tag>_<average>`` of the averaged ones."""
    return METRICS.tags() + [f"{tag}_{avg}" for tag, cls in METRICS.items() if cls.takes_average() for avg in AVERAGES]


def metrics_for(mode: str) -> list[str]:
    """The metrics that fit a task mode, in registration order."""
    return [tag for tag, cls in METRICS.items() if mode in cls.TASKS]


def direction(key: str) -> str:
    """``max`` or ``min`` for a logged key (``val.f1_macro``): the named metric's direction; a key that
    names no metric (a loss, an error count) is minimized. ``<type>_<anything>`` reads as ``<type>``."""
    name = key.split(".", 1)[-1]
    for tag in (name, name.split("_")[0]):
        if tag in METRICS:
            return METRICS.get(tag).direction()
    return "min"
