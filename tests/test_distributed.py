"""Acceptance tests of distributed training: real processes on CPU (gloo), launched by
`netspec train --nproc-per-node 2` through PyTorch's elastic agent.

The reference is the same spec trained in one process: with the same global batch and seed, the
2-process run (DDP or FSDP) must end with the same weights. The spec has no dropout and no
BatchNorm (their randomness and batch statistics are per process by design), and 10% validation
leaves 1,617 training samples: the last batch of 17 splits 9/8, so the batch-share weighting of
the gradient average is exercised, not just the even case.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import ROOT, run_cli
from test_nonfinite import SQUARE
from test_nonfinite import _data as nan_data

SPEC = """\
netspec: 1
name: dist-mlp
inputs:
  features: {shape: [64]}
model:
  layers:
    - {name: hidden, linear: {out_features: 48, activation: relu}}
    - {name: logits, linear: {out_features: 10}}
data:
  source: {type: sklearn, name: digits}
  split: {val: 0.1, stratify: true, seed: 0}
  preprocess: {features: standardize}
train:
  task: classification
  epochs: 2
  batch_size: 32
  optimizer: {type: adam, lr: 2.0e-3}
  metrics: [accuracy]
  seed: 3
"""
FSDP = "train.distributed={strategy: fsdp}"


def fsdp_on_cpu() -> bool:
    try:
        from torch.distributed.fsdp import fully_shard  # noqa: F401
    except ImportError:
        return False
    return torch.distributed.is_available() and torch.distributed.is_gloo_available()


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dist") / "mlp.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def single(spec_file):
    """The one-process reference run (in this process)."""
    from netspec.train.api import train_spec

    return train_spec(spec_file, out=spec_file.parent / "single")


def weights(run_dir: str | Path) -> dict[str, torch.Tensor]:
    from netspec.checkpoint import load_checkpoint

    return load_checkpoint(Path(run_dir) / "last.pt")["models"]["model"]


def assert_same_weights(a: dict, b: dict, atol: float = 1e-5) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=atol, rtol=0, msg=f"weights differ at {k}")


def rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_ddp_two_processes_equal_one_process(spec_file, single, tmp_path):
    out = tmp_path / "ddp"
    proc = run_cli("train", str(spec_file), "--nproc-per-node", "2", "--out", str(out), "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 1  # rank 0 alone prints the result
    summary = json.loads(proc.stdout)
    assert_same_weights(weights(single.run_dir), weights(out))
    # metrics reduced across ranks: the whole validation split, as in one process
    assert summary["metrics"]["val.loss"] == pytest.approx(single.metrics["val.loss"], abs=1e-5)
    assert summary["metrics"]["val.accuracy"] == pytest.approx(single.metrics["val.accuracy"], abs=1e-6)
    assert summary["metrics"]["train.loss"] == pytest.approx(single.metrics["train.loss"], abs=1e-5)
    assert [r["epoch"] for r in rows(out)] == [1, 2]  # one writer
    cm = json.loads((out / "confusion_matrix.json").read_text())["matrix"]
    assert cm == json.loads((Path(single.run_dir) / "confusion_matrix.json").read_text())["matrix"]
    assert sum(map(sum, cm)) == 180  # every validation sample once, gathered from both ranks


@pytest.mark.skipif(not fsdp_on_cpu(), reason="this torch has no FSDP2 (fully_shard) or no gloo backend for CPU")
def test_fsdp_sharded_checkpoint_loads_in_one_process(spec_file, single, tmp_path):
    from netspec.checkpoint import load_checkpoint, rebuild_models
    from netspec.train.api import evaluate_checkpoint, train_spec

    out = tmp_path / "fsdp"
    proc = run_cli("train", str(spec_file), "--nproc-per-node", "2", "--set", FSDP, "--out", str(out), "--json",
                   timeout=300)
    assert proc.returncode == 0, proc.stderr
    header = torch.load(out / "last.pt", weights_only=True)
    assert "models" not in header and (out / header["sharded"] / ".metadata").is_file()
    assert sorted(p.name for p in out.glob("last.e*.dcp")) == ["last.e0002.dcp"]  # older folders removed
    # one process reads the shards: same weights as the one-process run, same outputs
    assert_same_weights(weights(single.run_dir), weights(out))
    model = rebuild_models(load_checkpoint(out / "last.pt"))["model"]
    reference = rebuild_models(load_checkpoint(Path(single.run_dir) / "last.pt"))["model"]
    x = torch.randn(64, 64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(model(x), reference(x), atol=1e-5, rtol=0)
    # evaluated in one process, the sharded checkpoint gives what the 2-process run logged
    logged = rows(out)[-1]
    evaluated = evaluate_checkpoint(spec_file, out / "last.pt")
    assert evaluated["val.loss"] == pytest.approx(logged["val.loss"], abs=1e-5)
    assert evaluated["val.accuracy"] == pytest.approx(logged["val.accuracy"], abs=1e-6)
    # and it resumes on another world size (one process), continuing like the one-process run
    resumed = train_spec(spec_file, epochs=3, resume=out)
    longer = train_spec(spec_file, epochs=3, out=tmp_path / "single3")
    assert resumed.epochs == 3
    assert_same_weights(weights(longer.run_dir), weights(out))


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(entry.name))
    return out


def _rank_of(pid: int) -> int | None:
    try:
        env = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        return None
    return next((int(v.split(b"=", 1)[1]) for v in env if v.startswith(b"RANK=")), None)


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_long_run(spec_file: Path, out: Path) -> tuple[subprocess.Popen, dict[int, int]]:
    """A 2-process run of many epochs, returned once it is training: (launcher, rank -> pid)."""
    proc = subprocess.Popen([sys.executable, "-m", "netspec", "train", str(spec_file), "--nproc-per-node", "2",
                             "--epochs", "1000", "--out", str(out), "--quiet"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and not ((out / "metrics.jsonl").is_file() and (out / "metrics.jsonl").stat().st_size):
        if proc.poll() is not None:
            pytest.fail(f"the run ended early: {proc.communicate()[1]}")
        time.sleep(0.2)
    ranks = {_rank_of(p): p for p in _children(proc.pid)}
    assert set(ranks) == {0, 1}, ranks
    return proc, ranks


def test_killed_rank_stops_the_whole_job(spec_file, tmp_path):
    proc, ranks = _start_long_run(spec_file, tmp_path / "killed")
    os.kill(ranks[1], signal.SIGKILL)
    t0 = time.time()
    _, err = proc.communicate(timeout=120)
    assert time.time() - t0 < 60  # stopped, not left waiting for the lost peer
    assert proc.returncode == 1
    assert "distributed training failed: rank 1 (local rank 1" in err and "was killed by SIGKILL" in err
    assert "rank 0 lost contact with the other processes of the run" in err or "rank 0 (local rank 0" in err
    assert "Traceback" not in err
    assert not any(_alive(p) for p in ranks.values())  # no rank left behind


@pytest.mark.slow
def test_ctrl_c_stops_every_rank(spec_file, tmp_path):
    proc, ranks = _start_long_run(spec_file, tmp_path / "interrupted")
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends to the foreground process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "interrupted by SIGINT; all ranks were stopped" in err
    assert not any(_alive(p) for p in ranks.values())


@pytest.mark.gpu
def test_nccl_one_process_per_gpu_equals_plain_gpu_run(spec_file, tmp_path):
    """On a GPU machine: the launcher with nccl (one process, the GPU of local rank 0) trains what
    a plain run on that GPU trains; FSDP too."""
    plain = run_cli("train", str(spec_file), "--device", "cuda", "--out", str(tmp_path / "plain"), "--quiet")
    assert plain.returncode == 0, plain.stderr
    for name, extra in (("ddp", []), ("fsdp", ["--set", FSDP])):
        proc = run_cli("train", str(spec_file), "--nproc-per-node", "1", "--device", "cuda", *extra,
                       "--out", str(tmp_path / name), "--quiet")
        assert proc.returncode == 0, proc.stderr
        assert_same_weights(weights(tmp_path / "plain"), weights(tmp_path / name), atol=1e-4)


# test_nonfinite's spec, its square fed by the hidden layer (DDP wants every parameter used)
NAN_SPEC = SQUARE.replace("inputs: [x, x]", "inputs: [hidden, hidden]").replace("  NONFINITE", "  nonfinite: NONFINITE")


def _nan_spec(tmp_path, nonfinite: str) -> Path:
    """One sample whose hidden features overflow float32 when squared, in one rank's batches."""
    nan_data(tmp_path, bad_rows=(5,))
    spec = tmp_path / "nan.yaml"
    spec.write_text(NAN_SPEC.replace("NONFINITE", nonfinite), encoding="utf-8")
    return spec


@pytest.mark.parametrize("nonfinite,strategy", [("stop", "ddp"), ("{type: stop, gradients: true}", "ddp"),
                                                ("{type: stop, gradients: true}", "fsdp")])
def test_a_non_finite_loss_on_one_rank_stops_every_rank_at_the_same_step(tmp_path, nonfinite, strategy):
    """One sample overflows (its hidden features squared pass float32's range) and lands in one rank's batch: the verdict is summed
    over the ranks, so both stop before the same update -- one names its loss, the other what it
    saw -- instead of one rank leaving and the other losing contact (or, under FSDP, hanging in the
    diagnosis' all-gather)."""
    import re

    if strategy == "fsdp" and not fsdp_on_cpu():
        pytest.skip("this torch has no CPU FSDP (fully_shard with gloo)")
    spec = _nan_spec(tmp_path, nonfinite)
    proc = run_cli("train", str(spec), "--nproc-per-node", "2", "--set", f"train.distributed={{strategy: {strategy}}}",
                   "--out", str(tmp_path / "run"), "--quiet", timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "lost contact" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    own = re.findall(r"non-finite loss at epoch (\d+), step (\d+)", proc.stderr)
    # without the gradient check the healthy rank learns it from the summed verdict; with it, its own
    # gradients hold the NaN (DDP averaged them over the ranks in the backward pass)
    said = "gradient" if "gradients" in nonfinite else "loss or gradient on another rank"
    other = re.findall(rf"non-finite {said} at epoch (\d+), step (\d+)", proc.stderr)
    assert len(own) == 1 and len(other) == 1 and own == other, proc.stderr
    assert "distributed training failed:" in proc.stderr  # (the agent may SIGTERM the second rank to end)


def test_skip_drops_the_same_step_on_every_rank_under_fsdp(tmp_path):
    """Each FSDP rank checks its own gradient shard; the summed verdict makes every rank skip the
    step, so the shards, step counters and schedules stay in step and the run trains on."""
    if not fsdp_on_cpu():
        pytest.skip("this torch has no CPU FSDP (fully_shard with gloo)")
    spec = _nan_spec(tmp_path, "{type: skip, max_skips: 5}")
    proc = run_cli("train", str(spec), "--nproc-per-node", "2", "--set", FSDP, "--out", str(tmp_path / "run"),
                   "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["nonfinite_skipped"] for r in rows] == [1, 1]  # the bad sample's batch, once per epoch
    assert all(math.isfinite(r["val.loss"]) for r in rows)
