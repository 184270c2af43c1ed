"""Experiment tracking behind train.log: TensorBoard event files read back with tensorboard's own
event reader, an MLflow run in a SQLite store read back with the MLflow client, and a located
error naming the extra when a tracker's package is missing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import EXAMPLES, run_cli

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed: pip install '.[tensorboard]'")
mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed: pip install '.[mlflow]'")


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    base = tmp_path_factory.mktemp("tracked")
    db = base / "mlflow.db"
    out = base / "run"
    proc = run_cli("train", str(EXAMPLES / "digits_cnn.yaml"), "--epochs", "2", "--out", str(out), "--quiet",
                   "--set", "train.log.tensorboard.histograms=true",
                   "--set", f'train.log.mlflow={{tracking_uri: "sqlite:///{db}", experiment: netspec-test}}', cwd=base)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return out, f"sqlite:///{db}", rows


def test_tensorboard_event_files_hold_the_expected_tags(tracked):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, _, rows = tracked
    acc = EventAccumulator(str(out / "tensorboard"), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    expected = {"loss/train", "loss/val", "accuracy/val", "f1_macro/val", "lr", "epoch_time_s", "samples_per_s"}
    assert expected <= set(tags["scalars"])
    for tag, key in (("loss/train", "train.loss"), ("loss/val", "val.loss"), ("accuracy/val", "val.accuracy"), ("lr", "lr")):
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [1, 2]
        np.testing.assert_allclose([e.value for e in events], [r[key] for r in rows], rtol=1e-6)
    hist = set(tags["histograms"])
    assert {"weights/conv1.weight", "weights/logits.bias", "gradients/conv1.weight", "gradients/logits.weight"} <= hist
    weights = acc.Histograms("weights/conv1.weight")
    assert [h.step for h in weights] == [1, 2] and weights[-1].histogram_value.num == 32 * 1 * 3 * 3
    assert tags["graph"] is True  # the traced model graph
    assert "spec/text_summary" in tags["tensors"]


def test_mlflow_run_in_a_sqlite_store(tracked):
    out, uri, rows = tracked
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("netspec-test")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    assert run.data.params["train.optimizer.lr"] == "0.002" and run.data.params["train.optimizer.type"] == "adamw"
    assert run.data.params["model.params"] == "14826" and run.data.params["train.epochs"] == "2"
    history = client.get_metric_history(run.info.run_id, "val.accuracy")
    assert [m.step for m in history] == [1, 2]
    np.testing.assert_allclose([m.value for m in history], [r["val.accuracy"] for r in rows], rtol=1e-6)
    top = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"spec.yaml", "metrics.jsonl", "report.html", "run_info.json", "plots", "model"} <= top
    assert not any(p.endswith(".pt") for p in top)
    plots = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "plots")}
    assert "loss.svg" in plots and "confusion_matrix.svg" in plots


def test_mlflow_model_loads_and_matches_the_checkpoint(tracked):
    import torch

    import netspec.check  # noqa: F401 - netspec's modules in their import order before unpickling
    from netspec.checkpoint import load_checkpoint, rebuild_models

    out, uri, _ = tracked
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("netspec-test")
    (run,) = client.search_runs([exp.experiment_id])
    local = client.download_artifacts(run.info.run_id, "model")
    model = mlflow.pytorch.load_model(local)
    reference = rebuild_models(load_checkpoint(out / "best.pt"))["model"]
    x = torch.randn(4, 1, 8, 8)
    torch.testing.assert_close(model.eval()(x), reference(x))


def test_missing_tracker_package_is_a_located_error(monkeypatch, tmp_path):
    from netspec.errors import TrainError
    from netspec.train.api import train_spec

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(TrainError) as info:
        train_spec(EXAMPLES / "digits_mlp.yaml", ["train.log.tensorboard=true"], epochs=1, out=tmp_path / "run")
    assert info.value.path == ("train", "log", "tensorboard")
    assert info.value.hint.startswith("pip install tensorboard (or, in a netspec checkout, pip install '.[tensorboard]')")


def test_log_section_is_validated_strictly(write_spec):
    text = (EXAMPLES / "digits_mlp.yaml").read_text() + "\n"
    spec = write_spec(text.replace("train:\n", "train:\n  log: {tensorboard: yes_please, wandb: true}\n", 1))
    proc = run_cli("validate", str(spec))
    assert proc.returncode == 1
    assert "train.log.wandb: unknown key" in proc.stderr and "train.log.tensorboard" in proc.stderr
