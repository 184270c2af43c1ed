"""Accuracy, precision, recall, F1 and the confusion matrix from confusion counts kept on the device.

These are the metrics nearly every classification run logs, every epoch. torchmetrics computes the
same numbers, but importing it costs about a second of every `netspec train` (its package imports
all its domains, parts of scipy and lightning_utilities), more than a small run's validation. So
these few are counted here: each update adds one ``bincount`` of (true, predicted) pairs to a
count tensor on the device, and ``compute`` reduces the counts. They give torchmetrics'
``Binary*``/``Multiclass*``/``Multilabel*`` results (tests/test_metrics_counts.py checks every
mode, average and ignore_index against torchmetrics); the other metrics still use torchmetrics,
imported only when a spec lists one.

Counts per mode: multiclass and segmentation, a K×K matrix (rows true, columns the argmax); binary,
2×2 (predicted positive when the probability is above the threshold); multilabel, one 2×2 per label.
Targets equal to ``ignore_index`` count for nothing. In a distributed run ``compute`` sums the
counts of every rank (an all_reduce, so every rank computes), as torchmetrics syncs its states.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch

#: (tp, fp, fn, tn per class, average, multilabel) -> the metric's value
Reduce = Callable[..., torch.Tensor]


def _divide(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a / b, 0 where b is 0 (torchmetrics' zero_division=0)."""
    return torch.where(b > 0, a / b.clamp(min=1e-30), torch.zeros_like(a))


class ClassCounts(torch.nn.Module):
    """Confusion counts of one task, accumulated on the device; ``stats()`` gives tp, fp, fn, tn per class."""

    def __init__(self, mode: str, classes: int, threshold: float = 0.5, ignore_index: Optional[int] = None) -> None:
        super().__init__()
        self.mode, self.k, self.threshold, self.ignore_index = mode, classes, threshold, ignore_index
        shape = (2, 2) if mode == "binary" else (classes, 2, 2) if mode == "multilabel" else (classes, classes)
        self.register_buffer("counts", torch.zeros(shape, dtype=torch.long), persistent=False)

    @torch.no_grad()
    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        if self.mode == "multilabel":  # (N, L) probabilities and 0/1 targets: a 2×2 per label
            pred = (preds > self.threshold).long()
            target = target.long()
            keep = target != self.ignore_index if self.ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
            label = torch.arange(self.k, device=preds.device).expand_as(target)
            index = (label * 4 + target.clamp(0, 1) * 2 + pred)[keep]
            self.counts += torch.bincount(index, minlength=4 * self.k).reshape(self.k, 2, 2)
            return
        if self.mode == "binary":
            pred, k = (preds.reshape(-1) > self.threshold).long(), 2
        else:  # (N, C[, ...]) logits against (N[, ...]) class indices
            pred, k = preds.argmax(1).reshape(-1), self.k
        target = target.reshape(-1).long()
        if self.ignore_index is not None:
            keep = target != self.ignore_index
            pred, target = pred[keep], target[keep]
        self.counts += torch.bincount(target * k + pred, minlength=k * k).reshape(k, k)

    def total(self) -> torch.Tensor:
        """The counts of every rank of a distributed run (summed: each rank counted its share of the
        split), else this process's; every rank must call it, as torchmetrics' compute syncs."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            summed = self.counts.clone()
            dist.all_reduce(summed)
            return summed
        return self.counts

    def stats(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        c = self.total().double()
        if self.mode == "multilabel":  # [label, true, pred]
            return c[:, 1, 1], c[:, 0, 1], c[:, 1, 0], c[:, 0, 0]
        if self.mode == "binary":  # the positive class only
            return c[1, 1:], c[0, 1:], c[1, :1], c[0, :1]
        tp = c.diag()
        fp, fn = c.sum(0) - tp, c.sum(1) - tp
        return tp, fp, fn, c.sum() - tp - fp - fn

    def reset(self) -> None:
        self.counts.zero_()


class CountedMetric(torch.nn.Module):
    """One metric read off ``ClassCounts``: update / compute / reset, as a torchmetrics object has."""

    def __init__(self, counts: ClassCounts, reduce: Reduce, average: str) -> None:
        super().__init__()
        self.counts, self.reduce, self.average = counts, reduce, average

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.counts.update(preds, target)

    def compute(self) -> torch.Tensor:
        return self.reduce(*self.counts.stats(), self.average, self.counts.mode == "multilabel").float()

    def reset(self) -> None:
        self.counts.reset()


class ConfusionCounts(torch.nn.Module):
    """The counts themselves: (true, predicted) as torchmetrics' *ConfusionMatrix orders them."""

    def __init__(self, counts: ClassCounts) -> None:
        super().__init__()
        self.counts = counts

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.counts.update(preds, target)

    def compute(self) -> torch.Tensor:
        return self.counts.total().clone()

    def reset(self) -> None:
        self.counts.reset()


def _macro(per_class: torch.Tensor, tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor, every: bool) -> torch.Tensor:
    """torchmetrics' macro: the mean over classes; multiclass leaves out a class that neither occurs in
    the targets nor is predicted, a multilabel label always counts (``every``)."""
    if every:
        return per_class.mean()
    present = (tp + fp + fn) > 0
    return per_class[present].mean() if bool(present.any()) else per_class.new_zeros(())


def _ratio(numerator: Callable[..., torch.Tensor], denominator: Callable[..., torch.Tensor]) -> Reduce:
    def reduce(tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor, tn: torch.Tensor, average: str,
               multilabel: bool = False) -> torch.Tensor:
        if average == "micro":
            tp_, fp_, fn_, tn_ = tp.sum(), fp.sum(), fn.sum(), tn.sum()
            return _divide(numerator(tp_, fp_, fn_, tn_), denominator(tp_, fp_, fn_, tn_))
        return _macro(_divide(numerator(tp, fp, fn, tn), denominator(tp, fp, fn, tn)), tp, fp, fn, multilabel)
    return reduce


precision = _ratio(lambda tp, fp, fn, tn: tp, lambda tp, fp, fn, tn: tp + fp)
recall = _ratio(lambda tp, fp, fn, tn: tp, lambda tp, fp, fn, tn: tp + fn)
f1 = _ratio(lambda tp, fp, fn, tn: 2 * tp, lambda tp, fp, fn, tn: 2 * tp + fp + fn)
#: per class (tp + tn) / all: binary and multilabel accuracy
label_accuracy = _ratio(lambda tp, fp, fn, tn: tp + tn, lambda tp, fp, fn, tn: tp + fp + fn + tn)


def multiclass_accuracy(tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor, tn: torch.Tensor, average: str,
                        multilabel: bool = False) -> torch.Tensor:
    """micro: correct / all; macro: the mean per-class recall (torchmetrics' MulticlassAccuracy)."""
    return _divide(tp.sum(), (tp + fn).sum()) if average == "micro" else recall(tp, fp, fn, tn, "macro")


REDUCERS: dict[str, Reduce] = {"precision": precision, "recall": recall, "f1": f1}


def counted(kind: str, task: Any, average: str) -> Any:
    """The counted metric ``kind`` (accuracy, precision, recall, f1, confusion_matrix) for a MetricTask."""
    counts = ClassCounts(task.mode if task.mode in ("binary", "multilabel") else "multiclass", task.classes,
                         task.threshold, task.ignore_index)
    if kind == "confusion_matrix":
        return ConfusionCounts(counts)
    if kind == "accuracy":
        reduce = label_accuracy if task.mode in ("binary", "multilabel") else multiclass_accuracy
    else:
        reduce = REDUCERS[kind]
    return CountedMetric(counts, reduce, "micro" if task.mode == "binary" else average)
