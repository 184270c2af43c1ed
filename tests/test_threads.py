"""train.threads: the count chosen for a tiny and a large model, explicit choices kept, and the
session applying it (process-wide; every test puts torch's count back)."""

from __future__ import annotations

import pytest
import torch

from conftest import EXAMPLES, SPECS
from netspec.check import check
from netspec.train import threads as T
from netspec.train.fastpath import step_flops
from netspec.train.session import build_session

NO_ENV: dict = {}


@pytest.fixture(autouse=True)
def restore_threads(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(T, "_initial", None)
    monkeypatch.setattr(T, "_ours", None)
    yield
    torch.set_num_threads(before)


def _flops(path, batch):
    return step_flops(check(path).graphs, batch)


@pytest.fixture
def machine(monkeypatch):
    """An idle 4-core machine on which torch runs its default (4 threads)."""
    monkeypatch.setattr(T, "cores", lambda: 4)
    monkeypatch.setattr(T.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(T.os, "getloadavg", lambda: (0.2, 0.5, 0.5))
    monkeypatch.setattr(torch, "get_num_threads", lambda: 4)


def test_tiny_model_gets_one_thread_and_a_large_one_every_core(machine):
    mlp = _flops(EXAMPLES / "digits_mlp.yaml", 32)
    resnet = _flops(SPECS / "resnet18.yaml", 32)
    assert mlp < T.SMALL_STEP_FLOPS < resnet
    small = T.choose_threads("auto", mlp, "cpu", NO_ENV)
    large = T.choose_threads("auto", resnet, "cpu", NO_ENV)
    assert (small.count, large.count) == (1, 4)
    assert "small step" in small.reason and "large step, 4 of 4 cores free" in large.reason and not small.keep


def test_busy_cores_are_left_to_their_processes(machine, monkeypatch):
    """The measured case: another process keeps cores busy; a large step takes only the free ones."""
    resnet = _flops(SPECS / "resnet18.yaml", 32)
    monkeypatch.setattr(T.os, "getloadavg", lambda: (2.6, 2.0, 1.0))
    assert T.choose_threads("auto", resnet, "cpu", NO_ENV).count == 1
    monkeypatch.setattr(T.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert T.choose_threads("auto", resnet, "cpu", NO_ENV).count == 1  # at least one
    monkeypatch.setattr(T.os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert T.choose_threads("auto", resnet, "cpu", NO_ENV).count == 3


def test_explicit_choices_are_kept(machine, monkeypatch):
    mlp = _flops(EXAMPLES / "digits_mlp.yaml", 32)
    env = T.choose_threads("auto", mlp, "cpu", {"OMP_NUM_THREADS": "3"})
    assert env.keep and env.reason == "kept: OMP_NUM_THREADS=3" and env.count == 4  # torch's current count stays
    assert T.choose_threads(2, mlp, "cpu", {"OMP_NUM_THREADS": "3"}).count == 2  # train.threads: N wins
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)  # a program called torch.set_num_threads(3)
    assert T.choose_threads("auto", mlp, "cpu", NO_ENV).keep


def test_gpu_runs_keep_torchs_default(machine):
    big = _flops(SPECS / "resnet18.yaml", 32)
    choice = T.choose_threads("auto", big, "cuda", NO_ENV)
    assert choice.count == 4 and "cuda" in choice.reason


def test_netspec_tells_its_own_setting_from_a_users(monkeypatch):
    monkeypatch.setattr(T, "cores", lambda: torch.get_num_threads())
    T.apply_threads(T.ThreadChoice(1, "auto"))
    assert torch.get_num_threads() == 1 and T.explicit_setting(NO_ENV) is None  # ours: auto may change it again
    torch.set_num_threads(2)
    assert T.explicit_setting(NO_ENV) == "torch.set_num_threads(2)"


def test_the_session_applies_the_count(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setattr(T, "cores", lambda: torch.get_num_threads())  # whatever torch runs now counts as default
    session = build_session(check(EXAMPLES / "digits_mlp.yaml", ["train.epochs=1"]))
    assert session.fast.threads.count == 1 and torch.get_num_threads() == 1 and session.train.threads == 1
    session = build_session(check(EXAMPLES / "digits_mlp.yaml", ["train.epochs=1", "train.threads=2"]))
    assert torch.get_num_threads() == 2 and session.fast.threads.reason == "train.threads"
