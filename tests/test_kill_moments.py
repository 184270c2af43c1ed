"""A run stopped dead at each moment that matters, then resumed, ends as an uninterrupted run does:
its weights, its best checkpoint, its metrics.jsonl and its closing summary, bit for bit on CPU.

tests/test_kill_resume.py kills real processes at random times; the moments below are too short to
hit that way (the rename of best.pt's temporary file, the rewrite of metrics.jsonl on resume), so
the crash is injected there: the process's next step raises ``Killed`` (a BaseException nothing in
netspec catches), which leaves the files exactly as SIGKILL at that instant would, and the run is
resumed in a fresh call.
"""

from __future__ import annotations

import json
import os

import pytest
import torch

import netspec.train.loop as loop
from netspec.checkpoint import load_checkpoint
from netspec.train.api import train_spec

SPEC = """netspec: 1
name: moments
inputs:
  features: {shape: [8]}
model:
  layers:
    - {name: hidden, linear: {out_features: 64, activation: relu}}
    - dropout: {p: 0.3}
    - {name: logits, linear: {out_features: 3}}
data:
  source: {type: generated, kind: blobs, num_samples: 200, num_features: 8, num_classes: 3, noise: 2.5}
  split: {val: 0.25, seed: 1}
train:
  epochs: 8
  batch_size: 16
  optimizer: {type: adam, lr: 0.01}
  early_stopping: {monitor: val.loss, patience: 50, restore_best: true}
  checkpoint: {every: 1}  # the moments of every epoch's writes (train/cadence.py: auto writes fewer)
  deterministic: true
  seed: 3
"""


class Killed(BaseException):
    """The process died here (nothing is flushed, closed or cleaned up after this point)."""


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    base = tmp_path_factory.mktemp("ref")
    spec = base / "spec.yaml"
    spec.write_text(SPEC)
    result = train_spec(spec, out=base / "run")
    rows = [json.loads(line) for line in (base / "run" / "metrics.jsonl").read_text().splitlines()]
    best_epochs = [r["epoch"] for r in rows if r["val.loss"] == min(x["val.loss"] for x in rows[: r["epoch"]])]
    assert result.restored_best and result.best_epoch < 8 and len(best_epochs) >= 2, (result.best_epoch, best_epochs)
    return {"spec": spec, "run": base / "run", "result": result, "rows": rows, "best_epochs": best_epochs}


def _summary(run) -> dict:
    return json.loads((run / "run_info.json").read_text())


def _assert_same_as(run, reference, result) -> None:
    ref = reference["run"]
    for name in ("last.pt", "best.pt"):
        a, b = load_checkpoint(run / name), load_checkpoint(ref / name)
        assert a["epoch"] == b["epoch"], name
        wa, wb = a["models"]["model"], b["models"]["model"]
        assert all(torch.equal(wa[k], wb[k]) for k in wb), f"{name} differs"
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [_untimed(r) for r in rows] == [_untimed(r) for r in reference["rows"]]
    want = reference["result"]
    assert result.best_epoch == want.best_epoch and result.restored_best == want.restored_best
    keys = [k for k in want.metrics if not k.endswith(("_time_s", "samples_per_s"))]
    assert {k: result.metrics[k] for k in keys} == {k: want.metrics[k] for k in keys}
    info, ref_info = _summary(run), _summary(ref)
    for key in ("best_epoch", "reported_epoch", "restored_best", "epochs"):
        assert info["result"][key] == ref_info["result"][key], key
    assert _untimed(info["result"]["metrics"]) == _untimed(ref_info["result"]["metrics"])
    assert not list(run.glob(".*.tmp"))


def _untimed(row: dict) -> dict:
    """A metrics row without its wall-clock figures (epoch_time_s, samples_per_s)."""
    return {k: v for k, v in row.items() if not k.endswith(("_time_s", "samples_per_s"))}


def _kill_at(monkeypatch, target, name, when):
    """Replace ``target.name`` so that the call for which ``when(*args)`` holds raises Killed."""
    original = getattr(target, name)

    def wrapper(*args, **kwargs):
        if when(*args, **kwargs):
            monkeypatch.setattr(target, name, original)
            raise Killed
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapper)


def _resume(reference, run):
    return train_spec(reference["spec"], resume=run)


def test_killed_while_best_pt_is_written(reference, tmp_path, monkeypatch):
    """Killed at the rename of best.pt's temporary file in an epoch that improved: the resumed run
    still ends with the best epoch's weights (it ended with an older best.pt)."""
    epoch = reference["best_epochs"][-1]
    _kill_at(monkeypatch, loop, "save_checkpoint",
             lambda ckpt, path: path.name == "best.pt" and ckpt["epoch"] == epoch)
    with pytest.raises(Killed):
        train_spec(reference["spec"], out=tmp_path / "run")
    _assert_same_as(tmp_path / "run", reference, _resume(reference, tmp_path / "run"))


def test_killed_between_best_pt_and_last_pt(reference, tmp_path, monkeypatch):
    epoch = reference["best_epochs"][-1]
    _kill_at(monkeypatch, loop, "save_checkpoint",
             lambda ckpt, path: path.name == "last.pt" and ckpt["epoch"] == epoch)
    with pytest.raises(Killed):
        train_spec(reference["spec"], out=tmp_path / "run")
    _assert_same_as(tmp_path / "run", reference, _resume(reference, tmp_path / "run"))


def test_killed_after_the_best_epoch_reports_the_best_epoch(reference, tmp_path, monkeypatch):
    """The best epoch predates the resume: the closing summary is still its row (it was the last
    epoch's numbers, another epoch's train.loss)."""
    after = reference["result"].best_epoch + 1
    _kill_at(monkeypatch, loop, "save_checkpoint", lambda ckpt, path: path.name == "last.pt" and ckpt["epoch"] == after)
    with pytest.raises(Killed):
        train_spec(reference["spec"], out=tmp_path / "run")
    _assert_same_as(tmp_path / "run", reference, _resume(reference, tmp_path / "run"))


def test_killed_after_a_metrics_row(reference, tmp_path, monkeypatch):
    """The row of epoch 3 is written, its checkpoint is not: the resumed run redoes epoch 3 once."""
    _kill_at(monkeypatch, loop, "save_checkpoint", lambda ckpt, path: ckpt["epoch"] == 3)
    with pytest.raises(Killed):
        train_spec(reference["spec"], out=tmp_path / "run")
    assert [json.loads(x)["epoch"] for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]
    _assert_same_as(tmp_path / "run", reference, _resume(reference, tmp_path / "run"))


def test_killed_while_a_resumed_run_rewrites_metrics_jsonl(reference, tmp_path, monkeypatch):
    """The rewrite truncated, then wrote: killed between, metrics.jsonl was empty and the next
    resume ended with the last rows only. Now the old file stays whole until the new one replaces it."""
    _kill_at(monkeypatch, loop, "save_checkpoint", lambda ckpt, path: ckpt["epoch"] == 4)
    with pytest.raises(Killed):
        train_spec(reference["spec"], out=tmp_path / "run")
    before = (tmp_path / "run" / "metrics.jsonl").read_text()
    _kill_at(monkeypatch, os, "replace", lambda src, dst: str(dst).endswith("metrics.jsonl"))
    with pytest.raises(Killed):
        _resume(reference, tmp_path / "run")
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == before
    for tmp in (tmp_path / "run").glob(".*.tmp"):  # what a real kill leaves behind; the next run ignores it
        tmp.unlink()
    _assert_same_as(tmp_path / "run", reference, _resume(reference, tmp_path / "run"))


# ---- fewer writes than epochs (train.checkpoint.every: N or auto, train/cadence.py) -------------


def _sparse(reference, tmp_path, every: str):
    """The reference spec writing its checkpoints every ``every`` epochs instead of every epoch."""
    spec = tmp_path / "sparse.yaml"
    spec.write_text(reference["spec"].read_text().replace("checkpoint: {every: 1}", f"checkpoint: {{every: {every}}}"))
    return spec


def test_killed_between_sparse_writes_redoes_the_epochs_since_the_last(reference, tmp_path, monkeypatch):
    """every: 3, killed as epoch 5's metrics row is written: last.pt is epoch 3's, best.pt the best up to
    epoch 3 (a later improvement was only in memory); the resumed run redoes epochs 4-5 and ends
    as the uninterrupted run, best.pt included."""
    spec = _sparse(reference, tmp_path, "3")
    real_write = loop._write

    def write(session, run_dir, spec_text, row, *rest):
        real_write(session, run_dir, spec_text, row, *rest)
        if row["epoch"] == 5:
            raise Killed

    monkeypatch.setattr(loop, "_write", write)
    with pytest.raises(Killed):
        train_spec(spec, out=tmp_path / "run")
    monkeypatch.setattr(loop, "_write", real_write)
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    assert last["epoch"] == 3
    assert load_checkpoint(tmp_path / "run" / "best.pt")["epoch"] == last["tracker"]["best_epoch"]
    _assert_same_as(tmp_path / "run", reference, train_spec(spec, resume=tmp_path / "run"))


def test_a_signal_writes_the_best_epoch_kept_in_memory(reference, tmp_path, monkeypatch):
    """every: 100 writes after epochs 1 and 8 only. Stopped by SIGTERM in epoch 6, last.pt's tracker names
    the best epoch so far: best.pt must hold that epoch's weights (an older best.pt would be restored
    as 'the best' on resume, without a word)."""
    from netspec.train import signals

    spec = _sparse(reference, tmp_path, "100")
    real = loop.stop_requested
    monkeypatch.setattr(loop, "stop_requested", lambda session: session.epoch == 5 or real(session))
    with pytest.raises(signals.Interrupted):
        train_spec(spec, out=tmp_path / "run")
    monkeypatch.setattr(loop, "stop_requested", real)
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    best = load_checkpoint(tmp_path / "run" / "best.pt")
    assert last["position"]["epoch"] == 6 and best["epoch"] == last["tracker"]["best_epoch"] > 1
    _assert_same_as(tmp_path / "run", reference, train_spec(spec, resume=tmp_path / "run"))


def test_auto_writes_fewer_checkpoints_than_epochs_on_a_fast_run(reference, tmp_path, monkeypatch):
    """auto: after the first and the last epoch always, in between only once the time since the last
    write is 50 times what it took; a write made slow (0.2 s) on epochs of milliseconds leaves the middle out."""
    import time

    spec = _sparse(reference, tmp_path, "auto")
    epochs, real_save = [], loop.save_checkpoint

    def slow_save(ckpt, path):
        if path.name == "last.pt":
            epochs.append(ckpt["epoch"])
            time.sleep(0.2)
        return real_save(ckpt, path)

    monkeypatch.setattr(loop, "save_checkpoint", slow_save)
    result = train_spec(spec, out=tmp_path / "run")
    assert epochs[0] == 1 and epochs[-1] == 8 and len(epochs) < 8, epochs
    assert load_checkpoint(tmp_path / "run" / "best.pt")["epoch"] == result.best_epoch
