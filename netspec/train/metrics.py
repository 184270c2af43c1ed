"""Metrics from torchmetrics, accumulated on the device; ``.item()`` only when computed.

``MetricSet(metrics, plan, device)`` builds one torchmetrics object per metric spec for the task
mode (each metric class's ``build``, ``netspec.metrics``); ``update(output, target)`` takes the raw
model output (logits or probabilities) and the target field, ``compute()`` returns {key: float} (a list of lists for confusion_matrix) and
resets. Preds are adapted per task: probabilities for binary/multilabel (sigmoid of logits),
logits for multiclass and segmentation ((N, C, H, W) against (N, H, W) masks), flattened (N·L, V)
for language models and seq2seq (perplexity reads (N, L, V)) and for per-position multiclass
classification (``plan.per_position``: (N, ..., C) logits, classes last, against (N, ...) class
indices; positions whose target is ``plan.ignore_index``, the padding, count for no metric).
"""

from __future__ import annotations

from typing import Any

import torch

from ..metrics import MetricTask


class MetricSet:
    def __init__(self, metrics: list, plan: Any, device: torch.device, threshold: float = 0.5,
                 probabilities: bool = False, ignore: int | None = None) -> None:
        self.mode = plan.mode
        self.per_position = getattr(plan, "per_position", False)
        if self.per_position and ignore is None:
            ignore = plan.ignore_index  # padded tokens / nodes: the same label the data pads with and the loss skips
        task = MetricTask(plan.mode, plan.num_classes, threshold, ignore)
        self.items = [(m.key, m, m.build(task).to(device)) for m in metrics]
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
        for _, spec, metric in self.items:
            if mode in ("language_model", "seq2seq"):
                if spec.SEQUENCES:
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
