"""Multilabel classification (several 0/1 targets per sample, bce_with_logits): validate and the trainer
resolve the same mode; the default metrics train and equal scikit-learn's; multi-hot targets under a
multiclass plan and non-0/1 targets are located data errors, not internal errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from conftest import run_cli
from netspec.check import check
from netspec.checks.plan import plan_training
from netspec.data import prepare_data
from netspec.errors import DataError
from netspec.train.metrics import MetricSet
from netspec.train.session import resolve_plan

SPEC = """\
netspec: 1
inputs:
  features: {{shape: [5]}}
model:
  layers:
    - {{linear: {{out_features: 3}}}}
data:
  source: {source}
train:
  task: classification
{extra}  epochs: 3
  optimizer: {{type: adam, lr: 0.05}}
"""


def _data(tmp_path, labels=None):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5))
    y = (x[:, :3] + 0.3 * rng.normal(size=(300, 3)) > 0).astype(int) if labels is None else labels
    with open(tmp_path / "ml.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "c", "d", "e", "y1", "y2", "y3"])
        w.writerows([list(map(float, x[i])) + list(map(int, y[i])) for i in range(300)])
    np.savez(tmp_path / "ml.npz", features=x.astype(np.float32), target=y.astype(np.int64))


CSV = "{type: csv, path: ml.csv, target: [y1, y2, y3]}"


def test_cli_trains_multilabel_with_bce_with_logits_and_the_default_metrics(write_spec, tmp_path):
    """Regression: validate resolved `task: classification` without the data's target columns (multiclass),
    so bce_with_logits "did not fit", while training resolved multilabel."""
    _data(tmp_path)
    spec = write_spec(SPEC.format(source=CSV, extra="  loss: bce_with_logits\n"))
    assert run_cli("validate", str(spec)).returncode == 0
    proc = run_cli("train", str(spec), "--json", "--quiet", "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout.strip().splitlines()[-1])["metrics"]
    assert set(m) >= {"val.loss", "val.accuracy", "val.f1_macro"}
    assert 0.7 < m["val.accuracy"] <= 1 and 0.6 < m["val.f1_macro"] <= 1  # the labels are learnable from x


def test_cli_multi_hot_arrays_under_a_multiclass_plan_are_a_located_error(write_spec, tmp_path):
    """An .npz (N, 3) 0/1 target does not say "multilabel" before the data is read: the auto mode is
    multiclass, and the target shape check says what to set instead of crashing in the loss."""
    _data(tmp_path)
    spec = write_spec(SPEC.format(source="{type: arrays, path: ml.npz}", extra=""))
    proc = run_cli("train", str(spec), "--out", str(tmp_path / "run"))
    assert proc.returncode == 1, proc.stderr
    assert f"{spec}:8:11: data.source: targets in field 'target' (train split) are (3,) per sample" in proc.stderr
    assert "set train.task.mode: multilabel" in proc.stderr
    fixed = write_spec(SPEC.format(source="{type: arrays, path: ml.npz}",
                                   extra="  task: {type: classification, mode: multilabel}\n").replace("  task: classification\n", ""))
    proc = run_cli("train", str(fixed), "--json", "--quiet", "--out", str(tmp_path / "run2"))
    assert proc.returncode == 0, proc.stderr


def test_validate_and_the_trainer_resolve_the_same_mode(write_spec, tmp_path):
    _data(tmp_path)
    checked = check(write_spec(SPEC.format(source=CSV, extra="")))
    assert plan_training(checked.spec, checked.graphs, [], []).mode == "multilabel"
    plan = resolve_plan(checked)
    assert (plan.mode, plan.num_classes, plan.losses[0].spec.type) == ("multilabel", 3, "bce_with_logits")


def test_multilabel_metrics_match_sklearn(write_spec, tmp_path):
    _data(tmp_path)
    plan = resolve_plan(check(write_spec(SPEC.format(source=CSV, extra="  metrics: [accuracy, f1_macro, precision, "
                                                                        "recall, auroc]\n"))))
    ms = MetricSet(plan.metrics, plan, torch.device("cpu"), threshold=0.5)
    g = torch.Generator().manual_seed(0)
    logits, y = torch.randn(50, 3, generator=g), torch.randint(0, 2, (50, 3), generator=g).float()
    ms.update(logits[:20], y[:20])
    ms.update(logits[20:], y[20:])
    got = ms.compute()
    pred = (torch.sigmoid(logits) >= 0.5).int().numpy()
    assert got["accuracy"] == pytest.approx((pred == y.numpy()).mean())  # per label (Hamming), not exact match
    assert got["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"), rel=1e-5)
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"), rel=1e-5)
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred, average="macro"), rel=1e-5)
    assert got["auroc"] == pytest.approx(skm.roc_auc_score(y, torch.sigmoid(logits), average="macro"), rel=1e-5)


def test_multilabel_targets_other_than_0_and_1_name_their_row(write_spec, tmp_path):
    labels = np.zeros((300, 3), int)
    labels[17, 1] = 2
    _data(tmp_path, labels)
    checked = check(write_spec(SPEC.format(source=CSV, extra="")))
    with pytest.raises(DataError) as info:
        prepare_data(checked.spec, resolve_plan(checked), checked.graph, tmp_path)
    assert "is not 0 or 1" in info.value.message and "ml.csv, line 19" in info.value.message
