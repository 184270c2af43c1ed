"""kill -9 at random points: a `netspec train` process is killed (SIGKILL: no handler runs, a
checkpoint or a metrics row may be half written) at least five times, `--resume` each time, and
the run completes with the final weights and metrics of an uninterrupted run, bit for bit (CPU)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import ROOT
from netspec.checkpoint import load_checkpoint
from netspec.train.api import train_spec

SPEC = """netspec: 1
name: kill-cnn
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
  epochs: 12
  batch_size: 8
  optimizer: {type: adam, lr: 0.01}
  schedule: {type: cosine, warmup_steps: 5}
  early_stopping: {patience: 50}
  deterministic: true
  seed: 5
"""


def _popen(args: list[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "NETSPEC_DEBUG"}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.Popen([sys.executable, "-m", "netspec", "train", *args, "--quiet"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _started(run, since: float) -> bool:
    """The process has written spec.yaml (after building the session, just before training)."""
    path = run / "spec.yaml"
    return path.is_file() and path.stat().st_mtime >= since


def kill_and_resume(spec, run, seed: int, window: float, kills: int = 5) -> list[str]:
    """Kill the run ``kills`` times, each a uniform random time in [0, window) seconds after it
    starts training, resume until it completes; returns what each kill hit (the last checkpoint)."""
    rng = random.Random(seed)
    hits: list[str] = []
    args = [str(spec), "--out", str(run)]
    for _attempt in range(4 * kills):
        since = time.time()
        proc = _popen(args)
        while not _started(run, since) and proc.poll() is None:
            time.sleep(0.01)
        if len(hits) < kills and proc.poll() is None:
            time.sleep(rng.uniform(0.0, window))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=300)
        err = proc.stderr.read()
        if proc.returncode == -signal.SIGKILL:
            state = "no checkpoint yet"
            if (run / "last.pt").exists():
                ck = load_checkpoint(run / "last.pt")
                state = f"epoch {ck['epoch']}" + (f" + {ck['position']['batches']} batches" if "position" in ck else "")
            hits.append(state)
            args = [str(spec), "--resume", str(run)]
            continue
        assert proc.returncode == 0, err[-3000:]
        if len(hits) >= kills:
            return hits
        args = [str(spec), "--resume", str(run)]  # it finished before the kill: not a kill point
        raise AssertionError(f"the run completed after only {len(hits)} kill(s): {hits}")
    raise AssertionError(f"no completion after {hits}")


def _assert_same_run(run, reference) -> None:
    a, b = load_checkpoint(run / "last.pt"), reference
    wa, wb = a["models"]["model"], b["ckpt"]["models"]["model"]
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a["epoch"] == 12 and "position" not in a
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, 13))
    for mine, ref in zip(rows, b["history"]):
        assert (mine["train.loss"], mine["val.loss"], mine["val.accuracy"]) == \
               (ref["train.loss"], ref["val.loss"], ref["val.accuracy"]), mine["epoch"]
    assert not list(run.glob(".*.tmp"))
    # the best checkpoint and the closing summary too (a kill at best.pt lost the best weights; a
    # resume after the best epoch reported the last epoch's numbers as the best's)
    best, ref_best = load_checkpoint(run / "best.pt"), load_checkpoint(b["run"] / "best.pt")
    assert best["epoch"] == ref_best["epoch"]
    assert all(torch.equal(best["models"]["model"][k], ref_best["models"]["model"][k]) for k in wb)
    info, ref_info = (json.loads((d / "run_info.json").read_text())["result"] for d in (run, b["run"]))
    assert (info["best_epoch"], _untimed(info["metrics"])) == (ref_info["best_epoch"], _untimed(ref_info["metrics"]))


def _untimed(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if not k.endswith(("_time_s", "samples_per_s"))}


def _window(reference, kills: int) -> float:
    """Kill delays average 0.6 of the run's training time over all kills, so the kills land
    across the run and it rarely completes before the last one."""
    total = sum(r["epoch_time_s"] for r in reference["history"])
    return 1.2 * total / kills


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    base = tmp_path_factory.mktemp("ref")
    spec = base / "spec.yaml"
    spec.write_text(SPEC)
    result = train_spec(spec, out=base / "run")
    return {"spec": spec, "history": result.history, "ckpt": load_checkpoint(base / "run" / "last.pt"),
            "run": base / "run"}


def test_kill_9_at_five_random_points_then_resume_is_bit_exact(reference, tmp_path):
    run = tmp_path / "run"
    hits = kill_and_resume(reference["spec"], run, seed=0, window=_window(reference, 5))
    assert len(hits) >= 5
    print("kill points:", hits)
    _assert_same_run(run, reference)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_more_seeds(reference, tmp_path, seed):
    run = tmp_path / "run"
    hits = kill_and_resume(reference["spec"], run, seed=seed, window=_window(reference, 6), kills=6)
    assert len(hits) >= 6
    print("kill points:", hits)
    _assert_same_run(run, reference)
