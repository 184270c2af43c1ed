"""The fast path on a CUDA device (these tests skip without one; bench/gpu/run_all.sh runs them):
every `auto` switches on, each switch still trains to the plain path's losses, and the process
flags are what the settings say."""

from __future__ import annotations

import pytest
import torch

from netspec.check import check
from netspec.train.loop import fit
from netspec.train.session import build_session
from test_fastpath import CNN, LM

pytestmark = pytest.mark.gpu


def _run(path, overrides=()):
    session = build_session(check(path, ["train.device=cuda", *overrides]))
    return session, fit(session)


def _losses(result):
    return [h["train.loss"] for h in result.history]


def test_auto_switches_everything_on(write_spec):
    session, result = _run(write_spec(CNN), ["train.compile=true"])
    fast = session.fast
    assert fast.precision == ("bf16-mixed" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16-mixed")
    assert fast.tf32 and torch.backends.cuda.matmul.fp32_precision == "tf32"
    assert torch.backends.cudnn.conv.fp32_precision == "tf32"
    assert session.updater.slots["model"].optimizer.defaults["fused"] is True
    assert session.models["model"].conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert fast.static_shapes and session.data.loaders["train"].drop_last
    assert result.history[-1]["train.loss"] < result.history[0]["train.loss"]


def test_tf32_false_turns_it_off(write_spec):
    _run(write_spec(CNN), ["train.performance.tf32=false"])
    assert torch.backends.cuda.matmul.fp32_precision == "ieee"


@pytest.mark.parametrize("switch", ["train.performance.pad_vocab=false", "train.performance.attention=math",
                                    "train.performance.attention=efficient", "train.performance.optimizer_impl=foreach",
                                    "train.compile=true"])
def test_each_switch_keeps_the_losses(write_spec, switch):
    path = write_spec(LM)
    fixed = ["train.precision=fp32", "train.performance.tf32=false", "data.loader.drop_last=true"]
    _, plain = _run(path, fixed)
    _, other = _run(path, fixed + [switch])
    for a, b in zip(_losses(plain), _losses(other)):
        assert a == pytest.approx(b, rel=2e-3, abs=2e-3)


def test_fp16_mixed_uses_a_grad_scaler(write_spec):
    session, result = _run(write_spec(CNN), ["train.precision=fp16-mixed"])
    assert session.updater.scaler is not None and session.precision.dtype == torch.float16
    assert all(map(lambda v: v == v, _losses(result)))  # finite


def test_padded_head_is_used_on_cuda(write_spec):
    from netspec.nn.vocab import PaddedVocabLinear

    session, _ = _run(write_spec(LM))
    assert session.fast.pad_vocab == 64 and type(session.models["model"].lm_head) is PaddedVocabLinear
