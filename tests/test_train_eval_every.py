"""train.eval_every: validation every N epochs and after the last; training itself is unchanged."""

from __future__ import annotations

import json

import torch

from netspec.checkpoint import load_checkpoint
from netspec.train.api import train_spec

SPEC = """netspec: 1
name: eval-every
inputs:
  features: {shape: [8]}
model:
  layers:
    - {name: hidden, linear: {out_features: 32, activation: relu}}
    - dropout: {p: 0.3}
    - {name: logits, linear: {out_features: 3}}
data:
  source: {type: generated, kind: blobs, num_samples: 200, num_features: 8, num_classes: 3, noise: 2.5}
  split: {val: 0.25, seed: 1}
train:
  epochs: 7
  batch_size: 16
  optimizer: {type: adam, lr: 0.01}
  seed: 3
"""


def _run(tmp_path, name: str, extra: str = ""):
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(SPEC + extra)
    result = train_spec(spec, out=tmp_path / name)
    rows = [json.loads(x) for x in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
    return result, rows


def test_validation_runs_every_n_epochs_and_after_the_last(tmp_path):
    every, rows_every = _run(tmp_path, "every", "  eval_every: 3\n")
    each, rows_each = _run(tmp_path, "each")
    assert [r["epoch"] for r in rows_every if "val.loss" in r] == [3, 6, 7]
    assert all("train.loss" in r for r in rows_every)
    for a, b in zip(rows_every, rows_each):  # validating changes nothing about training
        assert a["train.loss"] == b["train.loss"]
        if "val.loss" in a:
            assert a["val.loss"] == b["val.loss"] and a["val.accuracy"] == b["val.accuracy"]
    wa = load_checkpoint(tmp_path / "every" / "last.pt")["models"]["model"]
    wb = load_checkpoint(tmp_path / "each" / "last.pt")["models"]["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wb)
    assert every.metrics["val.loss"] == each.metrics["val.loss"]


def test_patience_counts_validations(tmp_path):
    """patience 1 with eval_every 2: the run can only stop on a validated epoch, one validation after
    the last improvement, and best.pt is a validated epoch."""
    result, rows = _run(tmp_path, "patience", "  eval_every: 2\n"
                        "  early_stopping: {monitor: val.loss, patience: 1, restore_best: true}\n")
    validated = [r["epoch"] for r in rows if "val.loss" in r]
    assert all(e % 2 == 0 or e == 7 for e in validated)
    if result.stopped_epoch is not None:
        assert result.stopped_epoch in validated
    assert result.best_epoch in validated
    assert load_checkpoint(tmp_path / "patience" / "best.pt")["epoch"] == result.best_epoch
