"""Metrics from torchmetrics, accumulated on the device; ``.item()`` only when computed.

``MetricSet(metrics, plan, device)`` builds one torchmetrics object per metric spec for the task
mode; ``update(output, target)`` takes the raw model output (logits or probabilities) and the
target field, ``compute()`` returns {key: float} (a list of lists for confusion_matrix) and
resets. Preds are adapted per task: probabilities for binary/multilabel (sigmoid of logits),
logits for multiclass and segmentation ((N, C, H, W) against (N, H, W) masks), flattened (N·L, V)
for language models and seq2seq (perplexity reads (N, L, V)) and for per-position multiclass
classification (``plan.per_position``: (N, ..., C) logits, classes last, against (N, ...) class
indices; positions whose target is ``plan.ignore_index``, the padding, count for no metric).
"""

from __future__ import annotations

from typing import Any

import torch


def _classification(m: Any, mode: str, k: int, threshold: float, ignore: int | None):
    from torchmetrics import classification as C
    from torchmetrics.segmentation import DiceScore

    avg = m.average or ("micro" if m.type == "accuracy" else "macro")
    fast = {"validate_args": False}  # inputs come from our own model and data checks; skip per-batch validation
    if mode == "binary":
        ctor = {"accuracy": C.BinaryAccuracy, "precision": C.BinaryPrecision, "recall": C.BinaryRecall,
                "f1": C.BinaryF1Score, "iou": C.BinaryJaccardIndex, "dice": C.BinaryF1Score}.get(m.type)
        if m.type == "auroc":
            return C.BinaryAUROC(**fast)
        if m.type == "confusion_matrix":
            return C.BinaryConfusionMatrix(threshold=threshold, **fast)
        return ctor(threshold=threshold, **fast)
    if mode == "multilabel":
        if m.type == "auroc":
            return C.MultilabelAUROC(num_labels=k, average=avg, **fast)
        if m.type == "confusion_matrix":
            return C.MultilabelConfusionMatrix(num_labels=k, threshold=threshold, **fast)
        ctor = {"accuracy": C.MultilabelAccuracy, "precision": C.MultilabelPrecision, "recall": C.MultilabelRecall,
                "f1": C.MultilabelF1Score, "iou": C.MultilabelJaccardIndex, "dice": C.MultilabelF1Score}[m.type]
        return ctor(num_labels=k, threshold=threshold, average=avg, **fast)
    kw = {"ignore_index": ignore, **fast} if ignore is not None else dict(fast)
    if m.type == "auroc":
        return C.MulticlassAUROC(num_classes=k, average=avg, **kw)
    if m.type == "confusion_matrix":
        return C.MulticlassConfusionMatrix(num_classes=k, **kw)
    if m.type == "iou":
        return C.MulticlassJaccardIndex(num_classes=k, average=avg, **kw)
    if m.type == "dice":
        # over the whole dataset per class (like the Jaccard index), not per sample then averaged
        return _Argmax(DiceScore(num_classes=k, average=avg, input_format="index", aggregation_level="global"))
    ctor = {"accuracy": C.MulticlassAccuracy, "precision": C.MulticlassPrecision, "recall": C.MulticlassRecall,
            "f1": C.MulticlassF1Score}[m.type]
    return ctor(num_classes=k, average=avg, **kw)


class _Argmax(torch.nn.Module):
    """Feeds class indices (argmax over dim 1) to a metric that wants them."""

    def __init__(self, metric) -> None:
        super().__init__()
        self.metric = metric

    def update(self, preds, target):
        self.metric.update(preds.argmax(1), target)

    def compute(self):
        return self.metric.compute()

    def reset(self):
        self.metric.reset()


def build_metric(m: Any, mode: str, num_classes: int | None, threshold: float = 0.5, ignore: int | None = None):
    import torchmetrics as T

    if m.type in ("mse", "rmse"):
        return T.MeanSquaredError(squared=m.type == "mse")
    if m.type == "mae":
        return T.MeanAbsoluteError()
    if m.type == "r2":
        return T.R2Score()
    if m.type == "perplexity":
        from torchmetrics.text import Perplexity

        return Perplexity(ignore_index=ignore)
    return _classification(m, mode, num_classes or 2, threshold, ignore)


class MetricSet:
    def __init__(self, metrics: list, plan: Any, device: torch.device, threshold: float = 0.5,
                 probabilities: bool = False, ignore: int | None = None) -> None:
        self.mode = plan.mode
        self.per_position = getattr(plan, "per_position", False)
        if self.per_position and ignore is None:
            ignore = plan.ignore_index  # padded tokens / nodes: the same label the data pads with and the loss skips
        self.items = [(m.key, m.type, build_metric(m, plan.mode, plan.num_classes, threshold, ignore).to(device))
                      for m in metrics]
        self.probabilities = probabilities  # the model already outputs probabilities

    def __bool__(self) -> bool:
        return bool(self.items)

    @torch.no_grad()
    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        output = output.detach().float()
        mode = self.mode
        if mode in ("binary", "multilabel"):
            probs = output if self.probabilities else torch.sigmoid(output)
            if mode == "binary":
                probs, target = probs.reshape(-1), target.reshape(-1).long()
            else:
                target = target.long()
            for _, _, metric in self.items:
                metric.update(probs, target)
            return
        for _, kind, metric in self.items:
            if mode in ("language_model", "seq2seq"):
                if kind == "perplexity":
                    metric.update(output, target)
                else:
                    metric.update(output.reshape(-1, output.shape[-1]), target.reshape(-1))
            elif self.per_position:  # (N, ..., C) logits, classes last: one row per position
                metric.update(output.reshape(-1, output.shape[-1]), target.reshape(-1))
            elif mode in ("multiclass", "segmentation"):  # (N, C[, H, W]) logits, (N[, H, W]) class indices
                metric.update(output, target)
            else:
                metric.update(output.reshape(-1), target.reshape(-1).to(output.dtype))

    def compute(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, _, metric in self.items:
            value = metric.compute()
            out[key] = value.tolist() if value.numel() > 1 else float(value)
            metric.reset()
        return out
