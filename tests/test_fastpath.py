"""The GPU fast path without a GPU: the spec settings validate (torch-free), every `auto` resolves
as documented for a CUDA device and for the CPU, and on the CPU each switch degrades cleanly: the
run computes what the plain path computes (bit for bit where the kernels are the same, to float
rounding where the switch changes the kernel)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from conftest import EXAMPLES, ROOT, SPECS
from netspec.check import check
from netspec.errors import NetspecError, SpecErrors
from netspec.train.fastpath import COMPILE_STEP_FLOPS, resolve_fast_path, step_flops
from netspec.train.loop import fit
from netspec.train.session import build_session

CNN = """
netspec: 1
inputs:
  image: {shape: [2, 8, 8]}
model:
  layers:
    - {name: conv, conv2d: {out_channels: 4, kernel_size: 3, padding: 1, activation: relu}}
    - {name: bn, batch_norm2d: {}}
    - max_pool2d: {kernel_size: 2}
    - flatten
    - {name: logits, linear: {out_features: 3}}
data:
  source: {type: generated, kind: images, num_samples: 120, num_classes: 3, shape: [2, 8, 8], noise: 0.5}
  split: {val: 0.25, seed: 1}
train:
  epochs: 2
  batch_size: 16
  optimizer: {type: adamw, lr: 0.01}
  seed: 3
"""

LM = """
netspec: 1
dims: {seq: 12}
inputs:
  tokens: {shape: [seq], dtype: int64}
model:
  layers:
    - {name: wte, embedding: {num_embeddings: 50, embedding_dim: 16}}
    - {name: wpe, positional_encoding: {encoding: learned, max_len: 12}}
    - name: h
      transformer_encoder: {num_layers: 1, nhead: 2, dim_feedforward: 32, dropout: 0.0, norm_first: true, causal: true}
    - {name: ln_f, layer_norm: {}}
    - {name: lm_head, linear: {out_features: 50, bias: false}, tie: {weight: wte}}
  outputs: [lm_head]
data:
  source: {type: generated, kind: sequence, vocab_size: 50, shape: [12], num_samples: 100}
  split: {val: 0.2}
train:
  program: language_model
  epochs: 2
  batch_size: 16
  optimizer: {type: adamw, lr: 0.003, no_decay: [bias, norm]}
"""


def _run(path, overrides=()):
    session = build_session(check(path, list(overrides)))
    result = fit(session)
    return session, result


def _weights(session):
    return {k: v.detach().clone() for k, v in session.models["model"].state_dict().items()}


# ---- the spec settings ------------------------------------------------------------------------------

ALL_SETTINGS = """
  precision: auto
  compile: auto
  threads: 2
  performance:
    tf32: true
    optimizer_impl: fused
    channels_last: auto
    attention: flash
    pad_vocab: 128
    static_shapes: true
    compile_mode: max-autotune-no-cudagraphs
"""


def test_every_setting_validates_without_torch(write_spec):
    path = write_spec(LM + ALL_SETTINGS)
    code = (f"import sys\nfrom netspec.check import check\nc = check({str(path)!r})\n"
            "p = c.spec.train.performance\nprint('torch' in sys.modules, p.pad_vocab, p.attention, c.spec.train.threads)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False 128 flash 2", out.stdout + out.stderr


def test_the_defaults_are_auto(write_spec):
    train = check(write_spec(CNN)).spec.train
    assert (train.precision, train.compile, train.threads) == ("auto", "auto", "auto")
    p = train.performance
    assert (p.tf32, p.optimizer_impl, p.channels_last, p.attention, p.pad_vocab, p.static_shapes) == ("auto",) * 6
    assert p.compile_mode == "default"


@pytest.mark.parametrize("change, path, message", [
    ("train.precision=fp16-mixed", ("train", "precision"), "fp16-mixed needs a CUDA device"),
    ("train.optimizer={type: nadam}", ("train", "performance", "optimizer_impl"), "no fused nadam"),
    ("train.threads=0", ("train", "threads"), ""),
    ("train.performance.pad_vocab=1", ("train", "performance", "pad_vocab"), ""),
    ("train.performance.attention=fastest", ("train", "performance", "attention"), ""),
    ("train.performance.tf32=yes", ("train", "performance", "tf32"), ""),
])
def test_bad_settings_are_located(write_spec, change, path, message):
    extra = ["train.device=cpu"] if "fp16" in change else []
    extra += ["train.performance.optimizer_impl=fused"] if "nadam" in change else []
    with pytest.raises(NetspecError) as err:
        check(write_spec(CNN), [change, *extra])
    errors = err.value.errors if isinstance(err.value, SpecErrors) else [err.value]
    found = [e for e in errors if e.path[: len(path)] == path]
    assert found, [(e.path, e.message) for e in errors]
    assert message in found[0].message


def test_settings_that_do_nothing_warn(write_spec):
    mlp = check(write_spec(CNN), ["train.performance.pad_vocab=64"])
    assert [w.path for w in mlp.warnings if "pad_vocab" in w.message] == [("train", "performance", "pad_vocab")]
    lm = check(write_spec(LM, "lm.yaml"), ["train.performance.channels_last=true", "train.performance.pad_vocab=64"])
    assert [w.path for w in lm.warnings if "performance" in w.path] == [("train", "performance", "channels_last")]


# ---- what auto means -----------------------------------------------------------------------------------

def _resolve(path, device, overrides=()):
    checked = check(path, list(overrides))
    return resolve_fast_path(checked.spec.train, torch.device(device), checked.graphs)


def test_auto_on_cpu_is_the_plain_path(write_spec):
    fast = _resolve(write_spec(CNN), "cpu")
    assert (fast.precision, fast.compile, fast.static_shapes, fast.tf32, fast.channels_last) == ("fp32", False, False, False, False)
    assert (fast.attention, fast.pad_vocab, fast.optimizer_impl) == ("auto", 0, "auto")


@pytest.mark.parametrize("bf16", [True, False])
def test_auto_on_cuda(write_spec, monkeypatch, bf16):
    """The rules for a CUDA device, resolved on this CPU machine (nothing is allocated)."""
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: bf16)
    cnn = _resolve(write_spec(CNN), "cuda")
    assert cnn.precision == ("bf16-mixed" if bf16 else "fp16-mixed")
    assert (cnn.tf32, cnn.channels_last, cnn.pad_vocab) == (True, True, 64)
    assert cnn.compile is False and cnn.step_flops < COMPILE_STEP_FLOPS  # a tiny step does not repay compilation
    gpt2 = _resolve(SPECS / "gpt2_small.yaml", "cuda", ["train={batch_size: 8}"])
    assert gpt2.compile and gpt2.static_shapes and not gpt2.channels_last and gpt2.pad_vocab == 64
    assert gpt2.step_flops == 3 * check(SPECS / "gpt2_small.yaml").graph.flops * 8
    off = _resolve(SPECS / "gpt2_small.yaml", "cuda", ["train={batch_size: 8, compile: false, precision: fp32, "
                                                       "performance: {tf32: false, pad_vocab: false, static_shapes: false}}"])
    assert (off.compile, off.precision, off.tf32, off.pad_vocab, off.static_shapes) == (False, "fp32", False, 0, False)


def test_optimizer_implementation_by_device():
    from netspec.train.optim import resolve_impl

    assert resolve_impl("auto", "adamw", "cuda") == "fused"
    assert resolve_impl("auto", "nadam", "cuda") == "foreach"
    assert resolve_impl("auto", "adamw", "cpu") == "default"
    assert resolve_impl("for_loop", "adamw", "cuda") == "for_loop"


def test_step_flops_is_three_forward_passes(write_spec):
    checked = check(write_spec(CNN))
    assert step_flops(checked.graphs, 16) == 3 * checked.graph.flops * 16 > 0


# ---- on the CPU, each switch degrades cleanly -------------------------------------------------------

def test_auto_on_cpu_trains_bit_identically_to_the_explicit_plain_path(write_spec):
    path = write_spec(CNN)
    auto, r1 = _run(path)
    plain, r2 = _run(path, ["train.precision=fp32", "train.compile=false", "train.performance={tf32: false, "
                            "optimizer_impl: for_loop, channels_last: false, pad_vocab: false, static_shapes: false}"])
    assert [h["train.loss"] for h in r1.history] == [h["train.loss"] for h in r2.history]
    a, b = _weights(auto), _weights(plain)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert auto.train.precision == "fp32" and auto.train.compile is False  # the session holds resolved values


@pytest.mark.parametrize("switch", ["train.performance.tf32=true", "train.performance.attention=flash"])
def test_cuda_only_switches_are_ignored_on_cpu(write_spec, switch):
    before = torch.backends.cuda.matmul.fp32_precision
    path = write_spec(LM)
    plain, r1 = _run(path)
    other, r2 = _run(path, [switch])
    assert torch.backends.cuda.matmul.fp32_precision == before
    assert other.precision.attention is None and other.fast.attention == "auto"
    assert [h["train.loss"] for h in r1.history] == [h["train.loss"] for h in r2.history]


def test_channels_last_on_cpu_gives_the_same_training(write_spec):
    path = write_spec(CNN)
    plain, _ = _run(path)
    nhwc, _ = _run(path, ["train.performance.channels_last=true"])
    conv = nhwc.models["model"].conv.weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    a, b = _weights(plain), _weights(nhwc)
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-5), k


def test_padded_vocabulary_gives_the_same_training(write_spec):
    from netspec.nn.vocab import PaddedVocabLinear

    path = write_spec(LM)
    plain, r1 = _run(path)
    padded, r2 = _run(path, ["train.performance.pad_vocab=64"])
    head = padded.models["model"].lm_head
    assert type(head) is PaddedVocabLinear and head.weight is padded.models["model"].wte.weight
    a, b = _weights(plain), _weights(padded)
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}  # checkpoints unchanged
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k
    for x, y in zip(r1.history, r2.history):
        assert x["train.loss"] == pytest.approx(y["train.loss"], abs=1e-5)
        assert x["val.perplexity"] == pytest.approx(y["val.perplexity"], rel=1e-5)


@pytest.mark.parametrize("impl", ["fused", "foreach", "for_loop"])
def test_optimizer_implementations_on_cpu(write_spec, impl):
    path = write_spec(CNN)
    plain, _ = _run(path)
    other, _ = _run(path, [f"train.performance.optimizer_impl={impl}"])
    opt = other.updater.slots["model"].optimizer
    assert opt.defaults.get("fused") is (True if impl == "fused" else None)
    assert opt.defaults.get("foreach") is {"fused": None, "foreach": True, "for_loop": False}[impl]
    a, b = _weights(plain), _weights(other)
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-5), k


def test_compile_with_static_shapes_on_cpu(write_spec, monkeypatch):
    """train.compile on the CPU: the forward+loss step is compiled (dynamo with its eager backend
    here, to keep the test fast; the inductor run is the slow test below), the last partial train
    batch is dropped, and the training equals the uncompiled run with drop_last."""
    calls = []
    real = torch.compile

    def eager_compile(fn, **kwargs):
        calls.append(kwargs)
        return real(fn, backend="eager", **kwargs)

    monkeypatch.setattr(torch, "compile", eager_compile)
    path = write_spec(LM)
    compiled, r1 = _run(path, ["train.compile=true"])
    assert compiled.fast.static_shapes and {"mode": None, "dynamic": False} in calls
    loader = compiled.data.loaders["train"]
    assert loader.drop_last and len(loader) == loader.num_samples // 16
    assert compiled.program.forward_loss.__class__.__name__ != "method"  # wrapped by torch.compile
    torch._dynamo.reset()
    plain, r2 = _run(path, ["train.compile=false", "data.loader.drop_last=true"])
    for x, y in zip(r1.history, r2.history):
        assert x["train.loss"] == pytest.approx(y["train.loss"], abs=1e-5)


@pytest.mark.slow
def test_compile_with_inductor_on_cpu(write_spec):
    path = write_spec(LM)
    compiled, r1 = _run(path, ["train.compile=true"])
    plain, r2 = _run(path, ["train.compile=false", "data.loader.drop_last=true"])
    for x, y in zip(r1.history, r2.history):
        assert x["train.loss"] == pytest.approx(y["train.loss"], abs=1e-4)


def test_bf16_autocast_on_cpu_still_trains(write_spec):
    session, result = _run(write_spec(CNN), ["train.precision=bf16-mixed"])
    assert session.precision.dtype == torch.bfloat16 and session.precision.scaler is None
    assert result.history[-1]["train.loss"] < result.history[0]["train.loss"] * 1.5


# ---- pieces ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bias", [True, False])
def test_padded_linear_equals_linear(bias):
    from netspec.nn.vocab import pad_vocab, unpad_vocab

    torch.manual_seed(0)
    plain = torch.nn.Linear(16, 50, bias=bias)
    padded = torch.nn.Linear(16, 50, bias=bias)
    padded.load_state_dict(plain.state_dict())
    assert pad_vocab(padded, 64) and not pad_vocab(torch.nn.Linear(16, 64), 64)
    x = torch.randn(3, 5, 16, requires_grad=True)
    y1, y2 = plain(x), padded(x)
    assert y2.shape == (3, 5, 50) and torch.allclose(y1, y2, atol=1e-6)
    y1.square().sum().backward()
    g1 = plain.weight.grad.clone()
    y2.square().sum().backward()
    assert torch.allclose(g1, padded.weight.grad, atol=1e-5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z1, z2 = plain(x), padded(x)
    assert z2.dtype == torch.bfloat16 and torch.allclose(z1.float(), z2.float(), atol=1e-2)
    unpad_vocab(padded)
    assert type(padded) is torch.nn.Linear and padded.state_dict().keys() == plain.state_dict().keys()


def test_tf32_flags_keep_torchs_two_apis_consistent():
    """set_tf32 goes through the APIs that update both of torch's views of the flag: reading the
    legacy ``allow_tf32`` (inductor does) must not raise after netspec set it."""
    from netspec.train.fastpath import set_tf32

    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    legacy = (torch.get_float32_matmul_precision(), cudnn.allow_tf32)
    try:
        set_tf32(True)
        assert (matmul.fp32_precision, matmul.allow_tf32, cudnn.conv.fp32_precision) == ("tf32", True, "tf32")
        set_tf32(False)
        assert (matmul.fp32_precision, matmul.allow_tf32, cudnn.allow_tf32) == ("ieee", False, False)
        assert torch.get_float32_matmul_precision() == "highest"
    finally:
        torch.set_float32_matmul_precision(legacy[0])
        cudnn.allow_tf32 = legacy[1]


def test_no_decay_covers_attention_in_proj_bias(write_spec):
    session = build_session(check(write_spec(LM)))
    opt = session.updater.slots["model"].optimizer
    decay = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    params = dict(session.models["model"].named_parameters())
    assert decay[id(params["h.layers.self_attn.in_proj_bias"])] == 0.0
    assert decay[id(params["h.layers.self_attn.in_proj_weight"])] > 0


def test_digits_example_specs_still_validate_with_the_new_fields():
    for path in (EXAMPLES / "digits_mlp.yaml", SPECS / "resnet50.yaml"):
        assert check(path).spec is not None


def test_attention_layers_reach_the_fused_sdpa_kernels(write_spec, monkeypatch):
    """Every attention layer computes through F.scaled_dot_product_attention, and a causal layer
    without padding passes is_causal alone (no mask tensor), which flash attention needs."""
    import torch.nn.functional as F

    from netspec.compiler import compile_model

    calls = []
    real = F.scaled_dot_product_attention

    def spy(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, **kw):
        calls.append((attn_mask, is_causal, q.shape))
        return real(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal, **kw)

    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    model = compile_model(check(write_spec(LM)).graph, seed=0)
    model(torch.zeros(2, 12, dtype=torch.long))
    assert calls == [(None, True, (2, 2, 12, 8))]  # (N, heads, L, head dim)


def test_streamed_batches_pin_memory_only_for_cuda():
    import numpy as np

    from netspec.data.batches import StreamBatches

    arrays = {"x": np.zeros((8, 3), np.float32)}
    assert StreamBatches(arrays, torch.device("cuda"), 4).pin is True  # pinned host memory, non_blocking copies
    assert StreamBatches(arrays, torch.device("cpu"), 4).pin is False
    assert StreamBatches(arrays, torch.device("cuda"), 4, pin_memory=False).pin is False
