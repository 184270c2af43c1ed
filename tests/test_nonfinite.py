"""train.nonfinite: a NaN/Inf loss or gradient stops the run before the bad update (naming the
step, the loss term and the first node producing it; the last good checkpoint stays), or skips
the step and counts it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import run_cli
from netspec.check import check
from netspec.checkpoint import load_checkpoint
from netspec.errors import SpecError, TrainError
from netspec.train.api import train_spec

PLUGINS = __import__("pathlib").Path(__file__).resolve().parent / "plugins"

SQUARE = """netspec: 1
inputs: {x: {shape: [4]}}
model:
  layers:
    - {name: hidden, linear: {out_features: 4}}
    - {name: square, multiply: {}, inputs: [x, x]}
    - {name: out, linear: {out_features: 1}}
data:
  source: {type: arrays, path: d.npz}
  split: {val: 0.25, seed: 0, stratify: false}
  preprocess: {features: none}
train:
  task: regression
  epochs: 2
  batch_size: 8
  optimizer: {type: sgd, lr: 0.01}
  NONFINITE
"""


def _data(tmp_path, bad_rows=(5,)):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    for r in bad_rows:
        x[r, 2] = 1e20  # finite, but its square is not (float32 ends at 3.4e38)
    np.savez(tmp_path / "d.npz", features=x, target=rng.normal(size=64).astype(np.float32))


def test_stop_names_the_step_and_the_first_node_with_a_non_finite_output(write_spec, tmp_path):
    _data(tmp_path)
    spec = write_spec(SQUARE.replace("NONFINITE", "nonfinite: stop"))
    with pytest.raises(TrainError) as info:
        train_spec(spec, out=tmp_path / "run")
    err = info.value
    assert err.message.startswith("non-finite loss at epoch 1, step ")
    assert "the first node with a non-finite output is 'square' (multiply)" in err.message
    assert "the loss term mse (the task's default loss) is not finite" in err.message
    assert err.path == ("model", "layers", 1) and err.context == "multiply 'square'"
    assert "train.nonfinite: skip" in err.hint
    assert not (tmp_path / "run" / "last.pt").exists()  # nothing bad was saved
    proc = run_cli("train", str(spec), "--out", str(tmp_path / "cli"), "--quiet")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{spec}:6:7: model.layers[1] (multiply 'square'): non-finite loss at epoch 1" in proc.stderr


def test_the_loss_term_is_named_and_located(write_spec, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = rng.normal(size=64).astype(np.float32)
    y[7] = 1e30  # |y − ŷ|² overflows; |y − ŷ| does not
    np.savez(tmp_path / "d.npz", features=x, target=y)
    text = SQUARE.replace("    - {name: square, multiply: {}, inputs: [x, x]}\n", "").replace(
        "NONFINITE", "loss: [{type: mae}, {type: mse, weight: 0.5}]")
    with pytest.raises(TrainError) as info:
        train_spec(write_spec(text), out=tmp_path / "run")
    msg = info.value.message
    assert "the loss term mse (train.loss[1]) is not finite" in msg and "mae" not in msg
    assert "every node's output was finite" in msg
    assert info.value.path == ("train", "loss", 1)


DIVERGE = """netspec: 1
inputs: {x: {shape: [8]}}
model:
  layers:
    - {name: hidden, linear: {out_features: 16, activation: relu}}
    - {name: out, linear: {out_features: 1}}
data:
  source: {type: generated, kind: linear, num_samples: 96, num_features: 8}
  split: {val: 0.25, seed: 0}
train:
  task: regression
  epochs: 4
  batch_size: 16
  optimizer: {type: sgd, lr: 0.01}
  schedule: {type: multistep, milestones: [2], gamma: 1.0e+30}
  seed: 1
"""


def test_the_last_good_checkpoint_stays(write_spec, tmp_path):
    """From epoch 3 the learning rate is 1e28: the first step there blows the weights up and the
    next loss is infinite. The run stops before that update; last.pt is still epoch 2's."""
    spec = write_spec(DIVERGE)
    with pytest.raises(TrainError) as info:  # a checkpoint every epoch (auto writes fewer on epochs this short)
        train_spec(spec, ["train.checkpoint.every=1"], out=tmp_path / "run")
    steps_per_epoch = 72 // 16 + 1
    assert f"at epoch 3, step {2 * steps_per_epoch + 2} " in info.value.message, info.value.message
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    assert last["epoch"] == 2
    assert all(torch.isfinite(v).all() for v in last["models"]["model"].values())
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    two = train_spec(spec, ["train.epochs=2"], out=tmp_path / "two")  # the same weights as a 2-epoch run
    ref = load_checkpoint(tmp_path / "two" / "last.pt")["models"]["model"]
    assert all(torch.equal(ref[k], v) for k, v in last["models"]["model"].items()) and two.epochs == 2


def test_skip_drops_the_bad_steps_counts_them_and_trains_on(write_spec, tmp_path):
    _data(tmp_path, bad_rows=(5, 40))
    spec = write_spec(SQUARE.replace("NONFINITE", "nonfinite: {type: skip, max_skips: 10}"))
    result = train_spec(spec, out=tmp_path / "run")
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    train_rows = int(64 * 0.75)
    bad_in_train = sum(r in np.asarray(_train_index(spec)) for r in (5, 40))
    assert bad_in_train >= 1
    assert all(1 <= r["nonfinite_skipped"] <= bad_in_train for r in rows)
    assert all(np.isfinite(r["train.loss"]) for r in rows) and result.epochs == 2
    weights = load_checkpoint(tmp_path / "run" / "last.pt")["models"]["model"]
    assert all(torch.isfinite(v).all() for v in weights.values())
    steps = load_checkpoint(tmp_path / "run" / "last.pt")["step"]
    assert steps == 2 * -(-train_rows // 8) - sum(r["nonfinite_skipped"] for r in rows)  # skipped steps do not count


def _train_index(spec):
    """Rows of d.npz that land in the train split."""
    from netspec.data import split as split_mod
    from netspec.data.table import Table

    checked = check(spec)
    x = np.load(spec.parent / "d.npz")["features"]
    table = Table({"features": x, "row": np.arange(len(x))})
    parts = split_mod.split_table(checked.spec.data.split, table, None)
    return parts["train"].fields["row"]


def test_skip_stops_after_max_skips(write_spec, tmp_path):
    _data(tmp_path, bad_rows=tuple(range(0, 64, 3)))  # nearly every batch
    spec = write_spec(SQUARE.replace("NONFINITE", "nonfinite: {type: skip, max_skips: 2}"))
    with pytest.raises(TrainError, match=r"more than max_skips \(2\) optimizer steps skipped"):
        train_spec(spec, out=tmp_path / "run")


def test_checking_every_n_steps_still_names_the_first_bad_step(write_spec, tmp_path):
    _data(tmp_path, bad_rows=tuple(range(64)))  # every batch: the first step is bad
    spec = write_spec(SQUARE.replace("NONFINITE", "nonfinite: {type: stop, every: 3}"))
    with pytest.raises(TrainError) as info:
        train_spec(spec, out=tmp_path / "run")
    assert "at epoch 1, step 1 " in info.value.message and "seen at step 3" in info.value.message


@pytest.mark.parametrize("value,message", [
    ("ignore", "unknown type 'ignore'"),
    ("{type: skip, max_skips: 0}", "expected a positive number"),
    ("{type: stop, every: -1}", "expected a positive number"),
])
def test_nonfinite_settings_are_validated(write_spec, tmp_path, value, message):
    spec = write_spec(SQUARE.replace("NONFINITE", f"nonfinite: {value}"))
    with pytest.raises(SpecError) as info:
        check(spec)
    assert message in str(info.value)


@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["stop", "skip"])
def test_fp16_leaves_gradients_to_the_grad_scaler(write_spec, tmp_path, mode):
    """Under fp16-mixed the GradScaler skips steps with inf gradients itself; a non-finite loss
    still stops a `stop` run, and a `skip` run trains on."""
    _data(tmp_path)
    text = SQUARE.replace("NONFINITE", f"nonfinite: {mode}\n  device: cuda\n  precision: fp16-mixed")
    spec = write_spec(text)
    if mode == "stop":
        with pytest.raises(TrainError, match="non-finite loss at epoch 1"):
            train_spec(spec, out=tmp_path / "run")
    else:
        assert train_spec(spec, out=tmp_path / "run").epochs == 2


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), float("-inf")])
def test_the_gradient_check_agrees_with_isfinite_and_leaves_gradients_bit_for_bit(dtype, bad):
    from netspec.train.guard import nonfinite_grads

    gen = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.zeros(n, dtype=d)) for n, d in ((7, dtype), (3, torch.float32), (1, dtype))]
    for p in params:
        p.grad = (torch.randn(p.shape, generator=gen) * 1e3).to(p.dtype)
    params.append(torch.nn.Parameter(torch.zeros(2)))  # no gradient
    if bad is not None:
        params[0].grad[4] = bad
    before = [p.grad.clone() for p in params[:3]]
    found = nonfinite_grads(params)
    reference = all(bool(torch.isfinite(p.grad).all()) for p in params if p.grad is not None)
    assert (float(found) == 0.0) == reference == (bad is None)
    for b, p in zip(before, params):
        assert torch.equal(b.view(torch.uint8), p.grad.view(torch.uint8))  # the same bytes (NaN != NaN)


# SQUARE with a layer whose backward pass turns NaN at step 3 (a finite loss throughout), 3 batches an epoch
NAN_GRAD = SQUARE.replace("{name: square, multiply: {}, inputs: [x, x]}", "{name: poison, nan_grad: {after: 3}}") \
    .replace("batch_size: 8", "batch_size: 16")


@pytest.mark.parametrize("gradients", [True, False])
def test_a_nan_gradient_with_a_finite_loss(write_spec, tmp_path, gradients):
    """With gradients: true the run stops before the update of step 3 and names the gradient; by
    default the next step's loss shows it, and the diagnostic names the weights and the update."""
    _data(tmp_path, bad_rows=())
    spec = write_spec(NAN_GRAD.replace("NONFINITE", f"nonfinite: {{type: stop, gradients: {str(gradients).lower()}}}"))
    proc = run_cli("--plugin", "nan_grad_plugin", "train", str(spec), "--out", str(tmp_path / "run"), "--quiet",
                   env={"PYTHONPATH": str(PLUGINS)})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    if gradients:
        assert "train.nonfinite: non-finite gradient at epoch 1, step 3 (batch 3 of 3): every node's output was " \
               "finite and every loss term too; non-finite gradient first in 'hidden.weight' (and 1 more)" in proc.stderr
        assert "already non-finite" not in proc.stderr
    else:
        # step 3 is the epoch's last: the end-of-epoch check finds the weights before anything is saved
        assert "model.layers[0] (linear 'hidden'): non-finite weights at epoch 1, step 3 (batch 3 of 3)" in proc.stderr
        assert "the weights are already non-finite, first in 'hidden.weight' (and 1 more): an update had non-finite " \
               "gradients (the last update was step 3)" in proc.stderr
        assert "gradients: true" in proc.stderr
    assert not (tmp_path / "run" / "last.pt").exists()


def test_without_the_gradient_check_the_next_loss_names_the_bad_update(write_spec, tmp_path):
    _data(tmp_path, bad_rows=())
    spec = write_spec(NAN_GRAD.replace("{after: 3}", "{after: 2}").replace("NONFINITE", "nonfinite: stop"))
    proc = run_cli("--plugin", "nan_grad_plugin", "train", str(spec), "--out", str(tmp_path / "run"), "--quiet",
                   env={"PYTHONPATH": str(PLUGINS)})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "model.layers[0] (linear 'hidden'): non-finite loss at epoch 1, step 3 (batch 3 of 3): the weights are " \
           "already non-finite, first in 'hidden.weight' (and 1 more): an update had non-finite gradients (the last " \
           "update was step 2)" in proc.stderr
    assert "set `train.nonfinite: {type: stop, gradients: true}`" in proc.stderr
    assert not (tmp_path / "run" / "last.pt").exists()
