"""`netspec train/evaluate/predict` as a user runs them: --json, located bad-data diagnostics with
exit code 1 and no traceback, the shipped examples' qualities."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from conftest import EXAMPLES, run_cli

IRIS = """netspec: 1
inputs:
  x: {shape: [4]}
model:
  layers:
    - {name: h, linear: {out_features: 16, activation: relu}}
    - {name: logits, linear: {out_features: 3}}
data:
  source: {type: csv, path: iris.csv, target: species, categorical: [site]}
  split: {val: 0.3, seed: 0}
train:
  epochs: 3
  batch_size: 16
"""


@pytest.fixture
def iris_csv(tmp_path):
    from sklearn.datasets import load_iris

    d = load_iris()
    lines = ["a,b,c,site,species"]
    for i, (row, y) in enumerate(zip(d.data, d.target)):
        lines.append(f"{row[0]},{row[1]},{row[2]},{'north' if i % 2 else 'south'},{d.target_names[y]}")
    (tmp_path / "iris.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "iris.csv"


def _diag(proc) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


def test_train_csv_with_categorical_json_evaluate_predict(write_spec, iris_csv, tmp_path):
    spec = write_spec(IRIS)  # 3 numeric columns + one-hot site (2) = 5 features... so (4,) must fail
    proc = run_cli("train", str(spec), "--json", "--out", str(tmp_path / "run"))
    err = _diag(proc)
    assert f"{spec}:3:" in err and "per-sample shape (5,)" in err and "expects (4,)" in err
    spec = write_spec(IRIS.replace("shape: [4]", "shape: [5]"))
    proc = run_cli("train", str(spec), "--json", "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["run_dir"] == str(tmp_path / "run") and summary["epochs"] == 3
    assert {"val.accuracy", "val.loss", "train.loss"} <= set(summary["metrics"]) and summary["train_time_s"] > 0
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3] and "lr" in rows[0]
    ev = run_cli("evaluate", str(spec), "--checkpoint", str(tmp_path / "run" / "last.pt"), "--json")
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["metrics"]["val.accuracy"] == pytest.approx(summary["metrics"]["val.accuracy"])
    out = tmp_path / "pred.csv"
    pr = run_cli("predict", str(spec), "--checkpoint", str(tmp_path / "run"), "--input", str(iris_csv), "--output", str(out))
    assert pr.returncode == 0, pr.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "label,prob_setosa,prob_versicolor,prob_virginica" and len(lines) == 151
    probs = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
    assert np.allclose(probs.sum(1), 1, atol=1e-4)


@pytest.mark.parametrize("change,where,message", [
    (("path: iris.csv", "path: nope.csv"), ":9:", "file not found"),
    (("target: species", "target: specie"), ":9:", "column 'specie' not found"),
    (("out_features: 3", "out_features: 2"), ":9:", "out of range for 2 classes"),
])
def test_bad_data_is_located_with_exit_1(write_spec, iris_csv, change, where, message):
    spec = write_spec(IRIS.replace("shape: [4]", "shape: [5]").replace(*change))
    err = _diag(run_cli("train", str(spec), "--quiet"))
    assert message in err and f"{spec}{where}" in err, err


def test_label_out_of_range_in_arrays(write_spec, tmp_path):
    np.savez(tmp_path / "d.npz", features=np.random.rand(20, 3).astype(np.float32), target=np.arange(20) % 5)
    spec = write_spec("""netspec: 1
inputs: {x: {shape: [3]}}
model: {layers: [{linear: {out_features: 4}}]}
data: {source: {type: arrays, path: d.npz}, split: {val: 0.2, stratify: false}}
train: {epochs: 1}
""")
    err = _diag(run_cli("train", str(spec)))
    assert "label 4" in err and "out of range for 4 classes" in err and f"{spec}:4:" in err


def test_validate_checks_training_rules_without_torch(write_spec):
    spec = write_spec("""netspec: 1
inputs: {x: {shape: [64]}}
model: {layers: [{name: logits, linear: {out_features: 10}}]}
data: {source: {type: sklearn, name: digits}, split: {train: 0.7, val: 0.2, test: 0.2}, class_weights: [1.0, 2.0]}
train:
  loss: mse
  optimizer: {type: sgd, lr: 5.0}
  early_stopping: {monitor: val.f1, patience: 0}
""")
    proc = run_cli("validate", str(spec))
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    for text in ("split ratios must sum to 1", "class_weights has 2", "expected a value ≥ 1"):
        assert text in out, out
    proc = run_cli("validate", str(spec), "--set", "data.split.test=0.1", "--set", "data.class_weights=auto",
                   "--set", "train.early_stopping.patience=3")
    out = proc.stdout + proc.stderr
    assert "not logged" in out and "does not fit the task" in out and f"{spec}:6:9" in out
    proc = run_cli("validate", str(spec), "--set", "data.split.test=0.1", "--set", "data.class_weights=auto",
                   "--set", "train.early_stopping.monitor=val.accuracy", "--set", "train.loss=cross_entropy",
                   "--set", "train.early_stopping.patience=3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "outside [1e-6, 1]" in proc.stdout + proc.stderr


def test_digits_mlp_example_meets_the_bar(tmp_path):
    """The README's main command: ≥ 97% validation accuracy in under 60 s."""
    t0 = time.perf_counter()
    proc = run_cli("train", str(EXAMPLES / "digits_mlp.yaml"), "--json", "--out", str(tmp_path / "mlp"))
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["metrics"]["val.accuracy"] >= 0.97
    assert wall < 60


def test_digits_cnn_example_meets_the_bar_fast(tmp_path):
    """Fewer epochs than the example's 30 (one-cycle adapts); the bar still holds."""
    proc = run_cli("train", str(EXAMPLES / "digits_cnn.yaml"), "--epochs", "8", "--json", "--out", str(tmp_path / "cnn"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["metrics"]["val.accuracy"] >= 0.98


@pytest.mark.slow
def test_digits_cnn_example_full(tmp_path):
    proc = run_cli("train", str(EXAMPLES / "digits_cnn.yaml"), "--json", "--out", str(tmp_path / "cnn"))
    assert json.loads(proc.stdout.strip().splitlines()[-1])["metrics"]["val.accuracy"] >= 0.98


def test_diabetes_example_reports_r2_and_rmse(tmp_path):
    proc = run_cli("train", str(EXAMPLES / "diabetes_regression.yaml"), "--json", "--out", str(tmp_path / "d"))
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout.strip().splitlines()[-1])["metrics"]
    assert m["val.r2"] > 0.3 and 0 < m["val.rmse"] < 1.0
    assert m["val.rmse"] == pytest.approx(m["val.loss"] ** 0.5, rel=1e-4)  # rmse² = the mse loss on val
