"""The loop: bit-exact resume, early stopping with restore-best, checkpoints, accumulation,
regularization and freezing."""

from __future__ import annotations

import json

import pytest
import torch

from netspec.checkpoint import FORMAT, FORMAT_VERSION, load_checkpoint, rebuild_models
from netspec.train.api import train_spec

CNN = """
netspec: 1
name: tiny-cnn
inputs:
  image: {shape: [1, 8, 8]}
model:
  layers:
    - {name: conv, conv2d: {out_channels: 4, kernel_size: 3, padding: 1, activation: relu}}
    - max_pool2d: {kernel_size: 2}
    - flatten
    - dropout: {p: 0.3}
    - {name: logits, linear: {out_features: 3}}
data:
  source: {type: generated, kind: images, num_samples: 240, num_classes: 3, shape: [1, 8, 8], noise: 0.5}
  split: {val: 0.25, seed: 1}
  augment: [hflip, {type: affine, degrees: 10}, {type: random_erasing, p: 0.5}]
train:
  epochs: 4
  batch_size: 16
  optimizer: {type: adam, lr: 0.01}
  schedule: {type: cosine, warmup_steps: 5}
  deterministic: true
  seed: 3
"""


class Interrupt(Exception):
    pass


class StopAfter:
    def __init__(self, k: int) -> None:
        self.k = k

    def start(self, *a):
        pass

    def batch(self, *a):
        pass

    def epoch(self, row):
        if row["epoch"] == self.k:
            raise Interrupt


def _weights(path):
    return load_checkpoint(path)["models"]["model"]


def test_resume_is_bit_exact(write_spec, tmp_path):
    spec = write_spec(CNN)
    straight = train_spec(spec, out=tmp_path / "a")
    with pytest.raises(Interrupt):
        train_spec(spec, ["train.checkpoint.every=1"], out=tmp_path / "b", reporter=StopAfter(2))  # a write per epoch
    assert load_checkpoint(tmp_path / "b")["epoch"] == 2
    resumed = train_spec(spec, resume=tmp_path / "b")
    assert resumed.epochs == straight.epochs == 4
    a, b = _weights(tmp_path / "a" / "last.pt"), _weights(tmp_path / "b" / "last.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert rows[-1]["train.loss"] == straight.history[-1]["train.loss"]
    # and a run that is not interrupted but started differently does differ (the test can fail)
    other = train_spec(spec, ["train.seed=4"], out=tmp_path / "c")
    assert other.history[-1]["train.loss"] != straight.history[-1]["train.loss"]


def test_early_stopping_restores_best_and_reports_stop_epoch(write_spec, tmp_path):
    text = CNN.replace("  deterministic: true", "  early_stopping: {monitor: val.loss, mode: max, patience: 2}")
    text = text.replace("epochs: 4", "epochs: 10")
    text = text.replace("augment: [hflip, {type: affine, degrees: 10}, {type: random_erasing, p: 0.5}]", "augment: []")
    result = train_spec(write_spec(text), out=tmp_path / "run")
    losses = [r["val.loss"] for r in result.history]
    best = max(range(len(losses)), key=lambda i: losses[i]) + 1
    assert result.best_epoch == best
    assert result.stopped_epoch == len(losses) < 10
    assert result.stopped_epoch == best + 2
    ckpt = load_checkpoint(tmp_path / "run" / "best.pt")
    assert ckpt["epoch"] == best
    assert result.metrics["val.loss"] == pytest.approx(losses[best - 1], rel=1e-6)
    model = rebuild_models(ckpt)["model"]
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    assert last["epoch"] == result.stopped_epoch
    assert not all(torch.equal(v, last["models"]["model"][k]) for k, v in model.state_dict().items())


def test_checkpoint_is_self_describing(write_spec, tmp_path):
    train_spec(write_spec(CNN), ["train.epochs=1"], out=tmp_path / "r")
    raw = torch.load(tmp_path / "r" / "last.pt", weights_only=True)
    assert raw["format"] == FORMAT and raw["format_version"] == FORMAT_VERSION and raw["epoch"] == 1
    assert {"python", "numpy", "torch", "data"} <= set(raw["rng"])
    assert raw["preprocess"]["classes"] == ["0", "1", "2"]
    assert "conv2d" in raw["spec_text"] and "train:" in raw["spec_text"]
    model = rebuild_models(raw)["model"]  # from the checkpoint alone
    x = torch.randn(2, 1, 8, 8)
    ref = rebuild_models(raw)["model"]
    assert torch.equal(model(x), ref(x))
    assert not list((tmp_path / "r").glob(".*.tmp"))  # atomic writes leave no temp files


ACC = """
netspec: 1
inputs:
  x: {shape: [8]}
model:
  layers:
    - {name: fc, linear: {out_features: 3}}
data:
  source: {type: generated, kind: blobs, num_samples: 64, num_features: 8, num_classes: 3}
  split: {val: 0.25, seed: 0}
  sampler: sequential
train:
  epochs: 2
  batch_size: BATCH
  accumulate: ACCUM
  optimizer: {type: sgd, lr: 0.1}
"""


def test_gradient_accumulation_equals_a_larger_batch(write_spec, tmp_path):
    big = train_spec(write_spec(ACC.replace("BATCH", "16").replace("ACCUM", "1"), "a.yaml"), out=tmp_path / "a")
    acc = train_spec(write_spec(ACC.replace("BATCH", "8").replace("ACCUM", "2"), "b.yaml"), out=tmp_path / "b")
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k
    assert big.epochs == acc.epochs == 2


def test_l2_penalty_max_norm_and_freeze(write_spec, tmp_path):
    base = ACC.replace("BATCH", "16").replace("ACCUM", "1")
    plain = train_spec(write_spec(base, "p.yaml"), out=tmp_path / "p")
    l2 = train_spec(write_spec(base + "  regularization: {l2: {weight: 0.5}, max_norm: {max_norm: 0.3}}\n", "l2.yaml"),
                    out=tmp_path / "l2")
    w = _weights(tmp_path / "l2")["fc.weight"]
    assert w.norm(dim=1).max() <= 0.3 + 1e-6
    assert w.norm() < _weights(tmp_path / "p")["fc.weight"].norm()
    assert plain.history[0]["train.loss"] != l2.history[0]["train.loss"]
    two = base.replace("    - {name: fc,", "    - {name: body, linear: {out_features: 6, activation: relu}}\n    - {name: fc,")
    frozen = train_spec(write_spec(two + "  freeze: [body]\n", "f.yaml"), out=tmp_path / "f")
    from netspec.compiler import compile_model
    ckpt = load_checkpoint(tmp_path / "f")
    from netspec.checkpoint import checked_from_checkpoint
    init = compile_model(checked_from_checkpoint(ckpt).graph, seed=0).state_dict()
    assert torch.equal(ckpt["models"]["model"]["body.weight"], init["body.weight"])
    assert not torch.equal(ckpt["models"]["model"]["fc.weight"], init["fc.weight"])
    assert frozen.epochs == 2
