"""Checkpoint loading as a security and reliability boundary: a checksum that torch itself lacks,
truncated and corrupted files refused with the path and a hint, pickles never executed
(weights_only), and a failed write that never replaces a good checkpoint."""

from __future__ import annotations

import errno
import pickle
import random

import pytest
import torch

from conftest import run_cli
from netspec.checkpoint import TRAILER_LEN, load_checkpoint, new_checkpoint, save_checkpoint
from netspec.checkpoint import file as ck
from netspec.errors import TrainError

WEIGHTS = torch.arange(4096, dtype=torch.float32)


def _saved(tmp_path, name="last.pt"):
    ckpt = new_checkpoint("netspec: 1\n", "spec.yaml", models={"model": {"w": WEIGHTS.clone()}}, epoch=3)
    return save_checkpoint(ckpt, tmp_path / name)


def test_a_checkpoint_carries_a_sha256_trailer_and_torch_still_reads_it(tmp_path):
    import hashlib

    path = _saved(tmp_path)
    raw = path.read_bytes()
    body, trailer = raw[:-TRAILER_LEN], raw[-TRAILER_LEN:]
    assert trailer == ck.MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n"
    assert torch.equal(torch.load(path, weights_only=True)["models"]["model"]["w"], WEIGHTS)
    assert load_checkpoint(path)["epoch"] == 3
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_flipped_byte_loads_silently_in_torch_but_is_refused_here(tmp_path):
    path = _saved(tmp_path)
    raw = bytearray(path.read_bytes())
    at = bytes(raw).find(WEIGHTS.numpy().tobytes()[4000:4016])
    raw[at + 3] ^= 0x40
    path.write_bytes(bytes(raw))
    silently = torch.load(path, weights_only=True)["models"]["model"]["w"]  # torch checks nothing
    assert not torch.equal(silently, WEIGHTS)
    with pytest.raises(TrainError) as info:
        load_checkpoint(path)
    assert info.value.location.file == str(path) and "SHA-256 does not match" in info.value.message
    assert "resume from another checkpoint" in info.value.hint


@pytest.mark.parametrize("seed", range(4))
def test_truncated_checkpoints_are_refused_with_the_path(tmp_path, seed):
    path = _saved(tmp_path)
    raw = path.read_bytes()
    cut = random.Random(seed).randrange(0, len(raw) - 1)
    path.write_bytes(raw[:cut])
    with pytest.raises(TrainError) as info:
        load_checkpoint(path)
    assert info.value.location.file == str(path)
    assert info.value.hint


def test_a_checkpoint_cut_exactly_at_its_trailer_is_refused(tmp_path):
    path = _saved(tmp_path)
    path.write_bytes(path.read_bytes()[:-TRAILER_LEN])  # the zip archive alone still loads in torch
    assert torch.load(path, weights_only=True)["epoch"] == 3
    with pytest.raises(TrainError, match="lost its checksum trailer"):
        load_checkpoint(path)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_a_pickle_payload_in_a_checkpoint_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "last.pt"
    torch.save({"format": "netspec.checkpoint", "format_version": 1, "evil": _Payload(marker)}, path)
    with pytest.raises(TrainError, match="cannot read checkpoint"):
        load_checkpoint(path)
    with open(tmp_path / "plain.pkl", "wb") as fh:  # a bare pickle, not even a zip archive
        pickle.dump(_Payload(marker), fh)
    with pytest.raises(TrainError):
        load_checkpoint(tmp_path / "plain.pkl")
    assert not marker.exists()


def test_a_failed_write_keeps_the_good_checkpoint_and_no_temp_file(tmp_path, monkeypatch):
    path = _saved(tmp_path)
    good = path.read_bytes()

    def disk_full(obj, fh, *a, **k):
        fh.write(b"PK\x03\x04 partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ck.torch, "save", disk_full)
    with pytest.raises(TrainError) as info:
        save_checkpoint(new_checkpoint("x", "y", epoch=4), path)
    assert "No space left on device" in info.value.message and "previous last.pt is kept" in info.value.hint
    assert path.read_bytes() == good
    assert not list(tmp_path.glob(".*.tmp"))
    assert load_checkpoint(path)["epoch"] == 3


def test_a_write_that_does_not_read_back_is_not_renamed(tmp_path, monkeypatch):
    path = _saved(tmp_path)
    good = path.read_bytes()
    real = ck.verify_file
    monkeypatch.setattr(ck, "verify_file", lambda p: "0" * 64 if p.name.endswith(".tmp") else real(p))
    with pytest.raises(TrainError, match="does not read back"):
        save_checkpoint(new_checkpoint("x", "y", epoch=4), path)
    assert path.read_bytes() == good and not list(tmp_path.glob(".*.tmp"))


def test_stale_temp_files_of_a_killed_writer_are_removed(tmp_path):
    stale = tmp_path / ".last.pt.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    _saved(tmp_path)
    assert not stale.exists()


SPEC = """netspec: 1
inputs: {x: {shape: [4]}}
model: {layers: [{linear: {out_features: 3}}]}
data: {source: {type: generated, kind: blobs, num_samples: 48, num_features: 4, num_classes: 3}}
train: {epochs: 1, batch_size: 16}
"""


def test_cli_refuses_a_corrupt_checkpoint_with_exit_1_and_leaves_it(write_spec, tmp_path):
    spec = write_spec(SPEC)
    run = tmp_path / "run"
    assert run_cli("train", str(spec), "--out", str(run), "--quiet").returncode == 0
    raw = bytearray((run / "last.pt").read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    (run / "last.pt").write_bytes(bytes(raw))
    for args in (("train", str(spec), "--resume", str(run), "--epochs", "2", "--quiet"),
                 ("evaluate", str(spec), "--checkpoint", str(run / "last.pt"))):
        proc = run_cli(*args)
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        assert f"{run / 'last.pt'}" in proc.stderr and ("corrupt" in proc.stderr or "cannot read" in proc.stderr)
    assert (run / "last.pt").read_bytes() == bytes(raw)  # the evidence is left as it was


def test_a_corrupt_pretrained_checkpoint_is_located_at_its_path_key(write_spec, tmp_path):
    from netspec.train.api import train_spec

    _saved(tmp_path, "weights.pt")
    raw = bytearray((tmp_path / "weights.pt").read_bytes())
    raw[100] ^= 1
    (tmp_path / "weights.pt").write_bytes(bytes(raw))
    spec = write_spec(SPEC.replace("batch_size: 16}", "batch_size: 16, pretrained: {path: weights.pt}}"))
    with pytest.raises(TrainError) as info:
        train_spec(spec, out=tmp_path / "r")
    assert info.value.path == ("train", "pretrained", "path") and "SHA-256" in info.value.message
