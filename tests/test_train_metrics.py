"""Metrics (torchmetrics behind MetricSet) against scikit-learn references, accumulated over
several batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from netspec.programs.plan import TrainPlan
from netspec.spec.train import TrainSpec
from netspec.train.metrics import MetricSet


def _set(mode: str, names: list, k=None, **kw) -> MetricSet:
    metrics = TrainSpec.model_validate({"metrics": names}).metrics
    plan = TrainPlan(mode, k, [], metrics, [], "val.loss", "min")
    return MetricSet(metrics, plan, torch.device("cpu"), **kw)


def test_multiclass_metrics_match_sklearn():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(100, 4, generator=g)
    y = torch.randint(0, 4, (100,), generator=g)
    ms = _set("multiclass", ["accuracy", "f1_macro", "f1_micro", "precision", "recall", "auroc", "confusion_matrix"], 4)
    for s in range(0, 100, 32):
        ms.update(logits[s: s + 32], y[s: s + 32])
    got = ms.compute()
    pred = logits.argmax(1).numpy()
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"), rel=1e-5)
    assert got["f1_micro"] == pytest.approx(skm.f1_score(y, pred, average="micro"), rel=1e-5)
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"), rel=1e-5)
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred, average="macro"), rel=1e-5)
    probs = torch.softmax(logits, 1).numpy()
    assert got["auroc"] == pytest.approx(skm.roc_auc_score(y, probs, multi_class="ovr", average="macro"), rel=1e-4)
    assert got["confusion_matrix"] == skm.confusion_matrix(y, pred).tolist()


def test_binary_metrics_match_sklearn():
    g = torch.Generator().manual_seed(1)
    logit = torch.randn(80, 1, generator=g)
    y = torch.randint(0, 2, (80,), generator=g)
    ms = _set("binary", ["accuracy", "f1", "auroc"], 2, threshold=0.3)
    ms.update(logit, y)
    got = ms.compute()
    p = torch.sigmoid(logit).reshape(-1).numpy()
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, p >= 0.3))
    assert got["f1"] == pytest.approx(skm.f1_score(y, p >= 0.3), rel=1e-5)
    assert got["auroc"] == pytest.approx(skm.roc_auc_score(y, p), rel=1e-5)


def test_regression_metrics_match_sklearn():
    g = torch.Generator().manual_seed(2)
    pred = torch.randn(50, 1, generator=g)
    y = pred.reshape(-1) * 0.5 + torch.randn(50, generator=g)
    ms = _set("regression", ["mse", "rmse", "mae", "r2"])
    ms.update(pred[:20], y[:20])
    ms.update(pred[20:], y[20:])
    got = ms.compute()
    p = pred.reshape(-1).numpy()
    assert got["mse"] == pytest.approx(skm.mean_squared_error(y, p), rel=1e-5)
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)), rel=1e-5)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-5)
    assert got["r2"] == pytest.approx(skm.r2_score(y, p), rel=1e-4)


def test_perplexity_is_exp_of_the_mean_token_cross_entropy():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(3, 5, 7, generator=g)
    nxt = torch.randint(0, 7, (3, 5), generator=g)
    ms = _set("language_model", ["perplexity", "accuracy"], 7)
    ms.update(logits, nxt)
    got = ms.compute()
    ce = torch.nn.functional.cross_entropy(logits.reshape(15, 7), nxt.reshape(15))
    assert got["perplexity"] == pytest.approx(float(ce.exp()), rel=1e-5)
    assert got["accuracy"] == pytest.approx(float((logits.argmax(-1) == nxt).float().mean()))
