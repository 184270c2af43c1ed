"""netspec's counted classification metrics (netspec/nn/metric_counts.py) against torchmetrics: every
mode, metric, average and ignore_index, over several updates, including a class that never occurs."""

from __future__ import annotations

import pytest
import torch
from torchmetrics import classification as C

from netspec.metrics import MetricTask
from netspec.nn.metric_counts import counted

NAMES = {"accuracy": "Accuracy", "precision": "Precision", "recall": "Recall", "f1": "F1Score"}


def batches(mode: str, k: int, seed: int, ignore: int | None):
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in (17, 40, 1):
        if mode == "binary":
            preds, target = torch.rand(n, generator=g), torch.randint(0, 2, (n,), generator=g)
        elif mode == "multilabel":
            preds, target = torch.rand(n, k, generator=g), torch.randint(0, 2, (n, k), generator=g)
        elif mode == "segmentation":
            preds, target = torch.randn(n, k, 3, 4, generator=g), torch.randint(0, k - 1, (n, 3, 4), generator=g)
        else:  # class k-1 never occurs in the targets (and rarely predicted): macro must leave it out as torchmetrics does
            preds, target = torch.randn(n, k, generator=g), torch.randint(0, k - 1, (n,), generator=g)
            preds[:, k - 1] -= 5
        if ignore is not None and mode != "binary":
            target = torch.where(torch.rand(target.shape, generator=g) < 0.2, torch.full_like(target, ignore), target)
        out.append((preds, target))
    return out


def reference(kind: str, mode: str, k: int, average: str, ignore: int | None):
    cut = {"threshold": 0.5}
    skip = {"ignore_index": ignore} if ignore is not None else {}
    if kind == "confusion_matrix":
        if mode == "binary":
            return C.BinaryConfusionMatrix(**cut)
        if mode == "multilabel":
            return C.MultilabelConfusionMatrix(num_labels=k, **cut, **skip)
        return C.MulticlassConfusionMatrix(num_classes=k, **skip)
    name = NAMES[kind]
    if mode == "binary":
        return getattr(C, f"Binary{name}")(**cut)
    if mode == "multilabel":
        return getattr(C, f"Multilabel{name}")(num_labels=k, average=average, **cut, **skip)
    return getattr(C, f"Multiclass{name}")(num_classes=k, average=average, **skip)


@pytest.mark.parametrize("mode", ["binary", "multiclass", "segmentation", "multilabel"])
@pytest.mark.parametrize("kind", ["accuracy", "precision", "recall", "f1", "confusion_matrix"])
@pytest.mark.parametrize("average", ["micro", "macro"])
@pytest.mark.parametrize("ignore", [None, -100])
def test_counted_metric_equals_torchmetrics(mode, kind, average, ignore):
    if mode == "binary" and ignore is not None:
        pytest.skip("binary targets are 0/1 here: nothing is padded")
    k = 5
    ours = counted(kind, MetricTask(mode, k, 0.5, ignore), average)
    theirs = reference(kind, mode, k, average, ignore)
    for epoch in range(2):  # compute resets: the second epoch is counted afresh
        for preds, target in batches(mode, k, seed=epoch, ignore=ignore):
            if mode in ("binary", "multilabel"):
                ours.update(preds, target)
                theirs.update(preds, target)
            else:
                ours.update(preds, target)
                theirs.update(preds, target)
        got, want = ours.compute(), theirs.compute()
        ours.reset()
        theirs.reset()
        assert got.shape == want.shape, (got, want)
        assert torch.allclose(got.double(), want.double(), atol=1e-6), (got, want)
