"""Ctrl-C and SIGTERM sent to a real `netspec train` process: a checkpoint with the run's position,
exit 130 / 143, and a resume that ends bit for bit where an uninterrupted run ends; a second
Ctrl-C leaves at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import ROOT
from netspec.checkpoint import load_checkpoint
from netspec.train.api import train_spec

# augmentation draws from the data generator, dropout from torch's global RNG: both must come back
CNN = """netspec: 1
name: sig-cnn
inputs:
  image: {shape: [1, 8, 8]}
model:
  layers:
    - {name: conv, conv2d: {out_channels: 8, kernel_size: 3, padding: 1, activation: relu}}
    - max_pool2d: {kernel_size: 2}
    - flatten
    - dropout: {p: 0.3}
    - {name: logits, linear: {out_features: 3}}
data:
  source: {type: generated, kind: images, num_samples: 1200, num_classes: 3, shape: [1, 8, 8], noise: 0.5}
  split: {val: 0.2, seed: 1}
  augment: [hflip, {type: affine, degrees: 10}]
train:
  epochs: 6
  batch_size: 8
  optimizer: {type: adam, lr: 0.01}
  schedule: {type: cosine, warmup_steps: 5}
  deterministic: true
  seed: 3
"""


def start(*args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "NETSPEC_DEBUG"}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.Popen([sys.executable, "-m", "netspec", "train", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 120.0, proc: subprocess.Popen | None = None) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended early ({proc.returncode}): {proc.stderr.read()[-2000:]}")
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.02)


def rows(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def same_weights(a, b) -> bool:
    wa, wb = load_checkpoint(a)["models"]["model"], load_checkpoint(b)["models"]["model"]
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.parametrize("signum,code,name", [(signal.SIGINT, 130, "SIGINT (Ctrl-C)"), (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_saves_the_position_and_the_resumed_run_is_bit_exact(write_spec, tmp_path, signum, code, name):
    spec = write_spec(CNN)
    reference = train_spec(spec, out=tmp_path / "ref")
    run = tmp_path / "run"
    proc = start(str(spec), "--out", str(run))
    wait_for(lambda: (run / "metrics.jsonl").is_file() and len(rows(run)) >= 1, proc=proc)  # mid-run
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err[-2000:]
    assert "Traceback" not in err and f"note: stopped by {name} at epoch " in err
    assert f"checkpoint saved to {run / 'last.pt'}" in err and f"--resume {run}" in err
    saved = load_checkpoint(run / "last.pt")
    position = saved["position"]
    assert position["epoch"] == saved["epoch"] + 1 and 0 <= position["batches"] < 120
    done_rows = rows(run)
    assert [r["epoch"] for r in done_rows] == list(range(1, saved["epoch"] + 1))
    resumed = start(str(spec), "--resume", str(run), "--quiet")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    assert same_weights(tmp_path / "ref" / "last.pt", run / "last.pt")
    got = rows(run)
    assert [r["epoch"] for r in got] == list(range(1, 7))
    for mine, ref in zip(got, reference.history):  # every epoch, the interrupted one included
        assert mine["train.loss"] == ref["train.loss"] and mine["val.loss"] == ref["val.loss"], mine["epoch"]


SLOW = """netspec: 1
inputs: {x: {shape: [512]}}
model:
  layers:
    - {linear: {out_features: 1024, activation: relu}, repeat: 32}
    - {name: logits, linear: {out_features: 3}}
data:
  source: {type: generated, kind: blobs, num_samples: 2048, num_features: 512, num_classes: 3}
  split: {val: 0.1, seed: 0}
train: {epochs: 1, batch_size: 1024}
"""


def test_a_second_ctrl_c_exits_at_once(write_spec, tmp_path):
    """One batch of this model takes many seconds (about 200 GFLOP), in operations of a fraction of
    a second: the first Ctrl-C waits for the batch to end, to write a checkpoint; the second, half
    a second later, leaves at once, without one."""
    spec = write_spec(SLOW)
    run = tmp_path / "run"
    proc = start(str(spec), "--out", str(run), "--quiet")
    wait_for(lambda: (run / "spec.yaml").is_file(), proc=proc)  # handlers are in place, training starts
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert proc.poll() is None  # still finishing the batch
    second = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    took = time.monotonic() - second
    err = proc.stderr.read()
    assert proc.returncode == 130, err[-2000:]
    assert took < 5, f"took {took:.1f}s after the second Ctrl-C"
    assert "checkpoint saved" not in err and "Traceback" not in err
    assert not (run / "last.pt").exists() and not list(run.glob(".*.tmp"))


def test_a_signal_before_the_first_step_and_one_after_the_end(write_spec, tmp_path):
    """graceful_stop in-process: a stop requested before any batch saves the untrained state; a
    run whose stop flag is never raised is untouched by the handlers."""
    from netspec.errors import Interrupted
    from netspec.train import signals

    spec = write_spec(CNN.replace("epochs: 6", "epochs: 2"))
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with signals.graceful_stop() as stop:
        stop.signum = signal.SIGTERM
        with pytest.raises(Interrupted) as info:
            train_spec(spec, out=tmp_path / "a")
    assert info.value.exit_code == 143 and "at epoch 1 after 0 of 120 batches" in info.value.message
    assert load_checkpoint(tmp_path / "a")["position"]["batches"] == 0
    resumed = train_spec(spec, resume=tmp_path / "a")
    straight = train_spec(spec, out=tmp_path / "b")
    assert resumed.history[-1]["train.loss"] == straight.history[-1]["train.loss"]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before  # handlers restored
