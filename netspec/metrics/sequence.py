"""Sequence metrics of language models and seq2seq: perplexity and the exact-match rate."""

from __future__ import annotations

from typing import Any, Literal

from .base import FAST, METRICS, Metric, MetricTask


@METRICS.register
class Perplexity(Metric):
    """exp of the mean per-token cross-entropy (padding ignored)."""

    type: Literal["perplexity"]
    TASKS = frozenset({"language_model", "seq2seq"})
    HIGHER_IS_BETTER = False
    SEQUENCES = True
    EXAMPLE = "{type: perplexity}"

    def build(self, task: MetricTask) -> Any:
        from torchmetrics import text

        return text.Perplexity(ignore_index=task.ignore_index)


@METRICS.register
class ExactMatch(Metric):
    """Share of decoded sequences equal to their target, token for token (padding ignored)."""

    type: Literal["exact_match"]
    TASKS = frozenset({"seq2seq"})
    HIGHER_IS_BETTER = True
    DECODED = True
    EXAMPLE = "{type: exact_match}"

    def build(self, task: MetricTask) -> Any:
        from torchmetrics.classification import MulticlassExactMatch

        return MulticlassExactMatch(num_classes=task.classes, **task.ignore(), **FAST)
