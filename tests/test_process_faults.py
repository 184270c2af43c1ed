"""Faults of the machine, not of the spec, through the real command line: a step that cannot
allocate, a disk that fills up while a run writes its files. Each was `internal error` (exit 3);
now each is exit 1 with the place to act on, and what was written before stays usable."""

from __future__ import annotations

import errno

import pytest

import netspec.report.outputs
import netspec.train.programs.supervised
from fuzz_specs import run_cli_in_process
from netspec.checkpoint import load_checkpoint

SPEC = """netspec: 1
name: faults
inputs:
  features: {shape: [8]}
model:
  layers:
    - {name: hidden, linear: {out_features: 16, activation: relu}}
    - {name: logits, linear: {out_features: 3}}
data:
  source: {type: generated, kind: blobs, num_samples: 200, num_features: 8, num_classes: 3}
  split: {val: 0.25, seed: 1}
train:
  epochs: 2
  batch_size: 16
  optimizer: {type: adam, lr: 0.01}
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    return path


@pytest.mark.parametrize("error", [
    RuntimeError("[enforce fail at alloc_cpu.cpp:118] data. DefaultCPUAllocator: can't allocate memory: "
                 "you tried to allocate 68719476736 bytes. Error code 12 (Cannot allocate memory)"),
    MemoryError(),
])
def test_a_step_that_cannot_allocate_is_located_at_the_batch_size(spec, tmp_path, monkeypatch, error):
    original = netspec.train.programs.supervised.Supervised.train_step
    calls = []

    def step(self, batch, updater):
        calls.append(1)
        if len(calls) == 3:
            raise error
        return original(self, batch, updater)

    monkeypatch.setattr(netspec.train.programs.supervised.Supervised, "train_step", step)
    code, out, err, _ = run_cli_in_process(["train", str(spec), "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 1, err[-1500:]
    assert f"{spec}:14:" in err and "train.batch_size: out of memory at epoch 1, batch 3 of" in err, err[-1500:]
    assert "lower train.batch_size (now 16)" in err and "internal error" not in err


def test_a_full_disk_while_writing_the_summary_keeps_the_checkpoints(spec, tmp_path, monkeypatch):
    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(netspec.report.outputs, "write_atomic", full)
    run = tmp_path / "run"
    code, out, err, _ = run_cli_in_process(["train", str(spec), "--out", str(run), "--quiet"])
    assert code == 1, err[-1500:]
    assert f"cannot write {run}/" in err and "No space left on device" in err and "internal error" not in err, err
    assert load_checkpoint(run / "last.pt")["epoch"] == 2  # written before, and whole


def test_data_larger_than_the_free_memory_is_refused_before_it_is_built(tmp_path):
    """3 x 8192 x 8192 generated images died in MemoryError while being built: the free-memory check
    ran after the data. Now the source's size is known, and checked, before a byte is made."""
    spec = tmp_path / "big.yaml"
    spec.write_text(SPEC.replace("features: {shape: [8]}", "image: {shape: [3, 8192, 8192]}")
                    .replace("    - {name: hidden, linear: {out_features: 16, activation: relu}}\n", "    - flatten\n")
                    .replace("{type: generated, kind: blobs, num_samples: 200, num_features: 8, num_classes: 3}",
                             "{type: generated, kind: images, num_samples: 4000, num_classes: 3, shape: [3, 8192, 8192]}"))
    code, out, err, _ = run_cli_in_process(["train", str(spec), "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 1 and f"{spec}:10:" in err and "data.source: the data needs 11.72 TiB in memory" in err, err[-1500:]
