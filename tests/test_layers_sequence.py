"""Behaviour of the sequence, attention and special layers beyond the registry-wide contract:
padding really is ignored, causal really is causal, `last` is the last valid step, parity with
torch's own modules, and hand formulas for rbf, graph_conv, positional encodings and attention."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from netspec.check import check
from netspec.compiler import compile_model
from netspec.errors import NetspecError, ShapeError, SpecErrors
from netspec.layers import get_layer


def build(tag: str, params: dict, *shapes):
    return get_layer(tag).model_validate(params).build(*shapes).eval()


def copy_rnn(ours: nn.Module, torch_cls, **kw) -> nn.Module:
    ref = torch_cls(batch_first=True, **kw).eval()
    ref.load_state_dict(ours.state_dict())
    return ref


# ---- recurrent --------------------------------------------------------------------------------

@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_last_is_the_last_valid_step_and_matches_unpadded_runs(bidirectional):
    torch.manual_seed(0)
    lstm = build("lstm", {"hidden_size": 5, "num_layers": 2, "bidirectional": bidirectional,
                          "returns": ["sequence", "last", "state"], "lengths": True}, (7, 3), ())
    x, lengths = torch.randn(3, 7, 3), torch.tensor([7, 4, 1])
    with torch.no_grad():
        seq, last, h, c = lstm(x, lengths)
        for i, n in enumerate(lengths.tolist()):  # each sample alone, without padding
            s1, l1, h1, c1 = lstm(x[i:i + 1, :n], torch.tensor([n]))
            torch.testing.assert_close(seq[i, :n], s1[0], rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(last[i], l1[0], rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(h[i], h1[0], rtol=1e-5, atol=1e-6)
            assert torch.equal(seq[i, n:], torch.zeros_like(seq[i, n:]))  # padded steps come out as zeros
    idx = (lengths - 1).tolist()
    forward_last = torch.stack([seq[i, j, :5] for i, j in enumerate(idx)])
    torch.testing.assert_close(last[:, :5], forward_last)
    if bidirectional:  # the backward direction ends at the first step
        torch.testing.assert_close(last[:, 5:], seq[:, 0, 5:])
    assert h.shape == c.shape == (3, 2 * (2 if bidirectional else 1), 5)


def test_padding_does_not_change_valid_outputs():
    torch.manual_seed(0)
    gru = build("gru", {"hidden_size": 4, "bidirectional": True, "returns": ["sequence", "last"], "lengths": True}, (6, 3), ())
    x, lengths = torch.randn(2, 6, 3), torch.tensor([3, 5])
    noisy = x.clone()
    noisy[0, 3:] = 100.0
    noisy[1, 5:] = -100.0
    with torch.no_grad():
        (s1, l1), (s2, l2) = gru(x, lengths), gru(noisy, lengths)
    assert torch.equal(l1, l2) and torch.equal(s1, s2)


def test_state_and_initial_state_follow_torch_with_per_sample_layout():
    torch.manual_seed(0)
    ours = build("lstm", {"hidden_size": 4, "num_layers": 2, "returns": ["sequence", "state"], "initial_state": True},
                 (5, 3), (2, 4), (2, 4))
    ref = copy_rnn(ours, nn.LSTM, input_size=3, hidden_size=4, num_layers=2)
    x, h0, c0 = torch.randn(3, 5, 3), torch.randn(3, 2, 4), torch.randn(3, 2, 4)
    with torch.no_grad():
        seq, h, c = ours(x, h0, c0)
        want_seq, (want_h, want_c) = ref(x, (h0.transpose(0, 1).contiguous(), c0.transpose(0, 1).contiguous()))
    assert torch.equal(seq, want_seq)
    assert torch.equal(h, want_h.transpose(0, 1)) and torch.equal(c, want_c.transpose(0, 1))


def test_rnn_relu_and_a_flat_initial_state():
    torch.manual_seed(0)
    ours = build("rnn", {"hidden_size": 4, "nonlinearity": "relu", "returns": "last", "initial_state": True}, (5, 3), (4,))
    ref = copy_rnn(ours, nn.RNN, input_size=3, hidden_size=4, nonlinearity="relu")
    x, h0 = torch.randn(2, 5, 3), torch.randn(2, 4)
    with torch.no_grad():
        assert torch.equal(ours(x, h0), ref(x, h0.unsqueeze(0))[1][0])


def spec_errors(write_spec, text: str) -> list[NetspecError]:
    with pytest.raises(NetspecError) as info:
        check(write_spec(text))
    err = info.value
    return err.errors if isinstance(err, SpecErrors) else [err]


SEQ_HEAD = "netspec: 1\ninputs:\n  x: {shape: [seq, 8]}\n  lengths: {shape: [], dtype: int64}\nmodel:\n  layers:\n"


@pytest.mark.parametrize("layer,path_end,message", [
    ("{lstm: {hidden_size: 4}, inputs: [x]}", ("lstm",), "missing required key 'returns'"),
    ("{lstm: {hidden_size: 4, returns: last, dropout: 0.3}, inputs: [x]}", ("lstm",), "dropout acts between stacked layers"),
    ("{lstm: {hidden_size: 4, returns: last}, inputs: [x, lengths]}", (), "lstm takes 1 input(s) (sequence), got 2"),
    ("{gru: {hidden_size: 4, returns: last, lengths: true}, inputs: [lengths, x]}", (), "expects float32 input 0"),
    ("{multihead_attention: {num_heads: 3}, inputs: [x]}", (), "num_heads 3 does not divide embed_dim 8"),
    ("{transformer_encoder_layer: {nhead: 3}, inputs: [x]}", (), "nhead 3 does not divide d_model 8"),
    ("{multihead_attention: {num_heads: 2, key_padding: mask}, inputs: [x, lengths]}", (), "expects bool input 1"),
])
def test_located_errors(write_spec, layer, path_end, message):
    errors = spec_errors(write_spec, SEQ_HEAD + f"    - {layer}\n")
    assert len(errors) == 1, [str(e) for e in errors]
    e = errors[0]
    assert message in e.message
    assert e.path[:3] == ("model", "layers", 0) and e.path[len(e.path) - len(path_end):] == path_end


def test_num_heads_error_is_a_shape_error_with_a_hint(write_spec):
    e = spec_errors(write_spec, SEQ_HEAD + "    - {multihead_attention: {num_heads: 3}, inputs: [x]}\n")[0]
    assert isinstance(e, ShapeError) and "1, 2, 4, 8" in e.hint and e.context == "multihead_attention 'multihead_attention_0'"


# ---- attention ----------------------------------------------------------------------------------

def test_multihead_self_attention_matches_torch_with_a_padding_mask():
    torch.manual_seed(0)
    ours = build("multihead_attention", {"num_heads": 4, "key_padding": "mask"}, (6, 16), (6,))
    ref = nn.MultiheadAttention(16, 4, batch_first=True).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    x, pad = torch.randn(2, 6, 16), torch.tensor([[False] * 6, [False] * 3 + [True] * 3])
    with torch.no_grad():
        torch.testing.assert_close(ours(x, pad), ref(x, x, x, key_padding_mask=pad)[0], rtol=1e-5, atol=1e-6)


def test_multihead_cross_attention_with_other_key_sizes_matches_torch():
    torch.manual_seed(0)
    ours = build("multihead_attention", {"num_heads": 2}, (4, 8), (5, 6), (5, 10))
    ref = nn.MultiheadAttention(8, 2, kdim=6, vdim=10, batch_first=True).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    q, k, v = torch.randn(3, 4, 8), torch.randn(3, 5, 6), torch.randn(3, 5, 10)
    with torch.no_grad():
        torch.testing.assert_close(ours(q, k, v), ref(q, k, v)[0], rtol=1e-5, atol=1e-6)


def test_lengths_mask_like_a_bool_mask_and_padded_keys_do_not_matter():
    torch.manual_seed(0)
    by_len = build("multihead_attention", {"num_heads": 2, "key_padding": "lengths"}, (5, 8), ())
    by_mask = build("multihead_attention", {"num_heads": 2, "key_padding": "mask"}, (5, 8), (5,))
    by_mask.load_state_dict(by_len.state_dict())
    x, lengths = torch.randn(2, 5, 8), torch.tensor([2, 5])
    noisy = x.clone()
    noisy[0, 2:] = 50.0
    with torch.no_grad():
        a, b = by_len(x, lengths), by_mask(x, torch.arange(5) >= lengths[:, None])
        c = by_len(noisy, lengths)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a[0, :2], c[0, :2])  # valid queries never see the padded keys
    torch.testing.assert_close(a[1], c[1])


@pytest.mark.parametrize("tag,params", [
    ("multihead_attention", {"num_heads": 2, "causal": True}),
    ("transformer_encoder_layer", {"nhead": 2, "dim_feedforward": 16, "causal": True}),
    ("transformer_encoder_layer", {"nhead": 2, "dim_feedforward": 16, "causal": True, "norm_first": True,
                                   "key_padding": "lengths"}),
])
def test_causal_really_is_causal(tag, params):
    torch.manual_seed(0)
    padded = params.get("key_padding") == "lengths"
    layer = build(tag, params, (6, 8), *([()] if padded else []))
    x = torch.randn(2, 6, 8)
    later = x.clone()
    later[:, 4:] = torch.randn(2, 2, 8) * 10
    extra = [torch.tensor([6, 5])] if padded else []
    with torch.no_grad():
        a, b = layer(x, *extra), layer(later, *extra)
    torch.testing.assert_close(a[:, :4], b[:, :4])
    assert not torch.allclose(a[:, 4:], b[:, 4:])


def test_scaled_dot_product_attention_layer_is_the_formula():
    torch.manual_seed(0)
    layer = build("scaled_dot_product_attention", {"causal": True}, (4, 8), (4, 8), (4, 3))
    q, k, v = torch.randn(2, 4, 8), torch.randn(2, 4, 8), torch.randn(2, 4, 3)
    scores = q @ k.transpose(1, 2) / math.sqrt(8)
    scores = scores.masked_fill(~torch.ones(4, 4, dtype=torch.bool).tril(), float("-inf"))
    torch.testing.assert_close(layer(q, k, v), torch.softmax(scores, -1) @ v, rtol=1e-5, atol=1e-6)


def test_additive_attention_is_bahdanaus_formula_and_masks_padding():
    torch.manual_seed(0)
    attn = build("additive_attention", {"attention_dim": 6, "return_weights": True, "key_padding": "lengths"},
                 (3, 4), (5, 7), ())
    query, keys, lengths = torch.randn(2, 3, 4), torch.randn(2, 5, 7), torch.tensor([5, 2])
    with torch.no_grad():
        context, weights = attn(query, keys, lengths)
        w, u, b, v = attn.query_proj.weight, attn.key_proj.weight, attn.key_proj.bias, attn.v.weight[0]
        for n in range(2):
            for i in range(3):
                e = torch.stack([v @ torch.tanh(w @ query[n, i] + u @ keys[n, j] + b) for j in range(5)])
                e[lengths[n]:] = float("-inf")
                alpha = torch.softmax(e, 0)
                torch.testing.assert_close(weights[n, i], alpha, rtol=1e-5, atol=1e-6)
                torch.testing.assert_close(context[n, i], alpha @ keys[n], rtol=1e-5, atol=1e-6)
    assert torch.equal(weights[1, :, 2:], torch.zeros(3, 3))


@pytest.mark.parametrize("score", ["dot", "general"])
def test_luong_attention_is_the_formula_for_a_single_query(score):
    torch.manual_seed(0)
    attn = build("luong_attention", {"score": score}, (6,), (4, 6))
    query, keys = torch.randn(2, 6), torch.randn(2, 4, 6)
    with torch.no_grad():
        projected = keys @ attn.weight.T if score == "general" else keys
        alpha = torch.softmax(torch.einsum("nh,nlh->nl", query, projected), -1)
        torch.testing.assert_close(attn(query, keys), torch.einsum("nl,nlh->nh", alpha, keys), rtol=1e-5, atol=1e-6)


# ---- transformer stacks (shipped blocks) -----------------------------------------------------------

def test_shipped_decoder_stack_matches_torch_transformer_decoder(write_spec):
    torch.manual_seed(0)
    ref = nn.TransformerDecoder(nn.TransformerDecoderLayer(16, 4, 32, batch_first=True), 2).eval()
    text = """\
netspec: 1
inputs:
  tgt: {shape: [seq, 16]}
  memory: {shape: [9, 16]}
  lengths: {shape: [], dtype: int64}
model:
  layers:
    - {name: plain, transformer_decoder: {num_layers: 2, nhead: 4, dim_feedforward: 32}, inputs: [tgt, memory]}
    - name: padded
      transformer_decoder_with_padding: {num_layers: 2, nhead: 4, dim_feedforward: 32}
      inputs: [tgt, memory, lengths]
  outputs: [plain, padded]
"""
    model = compile_model(check(write_spec(text)).graph).eval()
    model.plain.load_state_dict(ref.state_dict(), strict=True)
    model.padded.load_state_dict(ref.state_dict(), strict=True)
    tgt, memory, lengths = torch.randn(2, 5, 16), torch.randn(2, 9, 16), torch.tensor([9, 3])
    causal = nn.Transformer.generate_square_subsequent_mask(5)
    with torch.no_grad():
        plain, padded = model(tgt, memory, lengths)
        want_plain = ref(tgt, memory, tgt_mask=causal, tgt_is_causal=True)
        want_padded = ref(tgt, memory, tgt_mask=causal, tgt_is_causal=True,
                          memory_key_padding_mask=torch.arange(9) >= lengths[:, None])
    torch.testing.assert_close(plain, want_plain, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(padded, want_padded, rtol=1e-5, atol=1e-5)


# ---- positional encodings ------------------------------------------------------------------------

def test_sinusoidal_encoding_is_the_papers_formula():
    layer = build("positional_encoding", {}, (6, 5))
    pe = layer(torch.zeros(1, 6, 5))[0]
    for p in range(6):
        for i in range(5):
            angle = p / 10000 ** (2 * (i // 2) / 5)
            assert pe[p, i].item() == pytest.approx(math.sin(angle) if i % 2 == 0 else math.cos(angle), abs=1e-6)
    scaled = build("positional_encoding", {"scale_input": True}, (6, 5))
    x = torch.randn(2, 6, 5)
    torch.testing.assert_close(scaled(x), x * math.sqrt(5) + pe)


def test_learned_positions_add_one_row_per_position():
    layer = build("positional_encoding", {"encoding": "learned", "max_len": 10}, ("seq", 4))
    x = torch.randn(2, 3, 4)
    torch.testing.assert_close(layer(x), x + layer.weight[:3])


# ---- tensor operations -----------------------------------------------------------------------------

def test_select_slice_chunk_unflatten_and_reductions():
    x = torch.randn(2, 5, 6)
    assert torch.equal(build("select", {"index": 0}, (5, 6))(x), x[:, 0])
    assert torch.equal(build("select", {"index": -1}, (5, 6))(x), x[:, -1])
    assert torch.equal(build("slice", {"start": 1, "end": -1, "step": 2}, (5, 6))(x), x[:, 1:-1:2])
    a, b = build("chunk", {"chunks": 2, "dim": -1}, (5, 6))(x)
    assert torch.equal(torch.cat([a, b], -1), x) and a.shape == (2, 5, 3)
    pairs = build("unflatten", {"dim": -1, "sizes": [3, 2]}, (5, 6))(x)
    assert torch.equal(build("max", {"dim": -1}, (5, 3, 2))(pairs), torch.maximum(x[..., 0::2], x[..., 1::2]))
    assert torch.equal(build("mean", {"dim": 1}, (5, 6))(x), x.mean(1))
    assert torch.equal(build("sum", {"dim": [1, 2], "keepdim": True}, (5, 6))(x), x.sum((1, 2), keepdim=True))


@pytest.mark.parametrize("a,b", [((3, 4), (4, 5)), ((6, 4), (4,)), ((4,), (2, 4, 3)), ((2, 3, 4), (4, 5)), ((4,), (4,))])
def test_matmul_is_per_sample_torch_matmul(a, b):
    x, y = torch.randn(3, *a), torch.randn(3, *b)
    layer = get_layer("matmul").model_validate({})
    out = layer.build(a, b)(x, y)
    want = torch.stack([torch.matmul(x[i], y[i]) for i in range(3)])
    torch.testing.assert_close(out, want)
    assert tuple(out.shape[1:]) == layer.output_shape(a, b)


# ---- special layers ---------------------------------------------------------------------------------

def test_reparameterize_is_mu_in_eval_and_samples_in_training():
    layer = build("reparameterize", {}, (4,), (4,))
    mu, logvar = torch.randn(20000, 4), torch.full((20000, 4), math.log(0.25))
    assert torch.equal(layer(mu, logvar), mu)
    layer.train()
    torch.manual_seed(0)
    z = layer(mu, logvar)
    noise = (z - mu) / 0.5  # std = exp(logvar / 2) = 0.5
    assert abs(noise.mean().item()) < 0.02 and abs(noise.std().item() - 1) < 0.02


def test_rbf_is_the_gaussian_formula():
    torch.manual_seed(0)
    layer = build("rbf", {"out_features": 3}, (2,))
    with torch.no_grad():
        layer.log_sigmas.copy_(torch.log(torch.tensor([0.5, 1.0, 2.0])))
        x = torch.randn(4, 2)
        out = layer(x)
    for n in range(4):
        for j, sigma in enumerate((0.5, 1.0, 2.0)):
            d2 = ((x[n] - layer.centers[j]) ** 2).sum().item()
            assert out[n, j].item() == pytest.approx(math.exp(-d2 / (2 * sigma ** 2)), rel=1e-5)


def test_graph_conv_is_normalized_adjacency_times_features_times_weights():
    torch.manual_seed(0)
    edges = torch.tensor([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=torch.float)  # a path 0-1-2
    a = edges + torch.eye(3)
    d = a.sum(1).rsqrt()
    a_hat = d[:, None] * a * d[None, :]
    layer = build("graph_conv", {"out_features": 2}, (3, 4), (3, 3))
    with torch.no_grad():
        layer.bias.copy_(torch.tensor([0.5, -1.0]))
        x = torch.randn(1, 3, 4)
        out = layer(x, a_hat.unsqueeze(0))[0]
    want = a_hat @ x[0] @ layer.weight.T + layer.bias
    torch.testing.assert_close(out, want)
    # node 0 sees itself and node 1 only
    torch.testing.assert_close(out[0], (a_hat[0, 0] * x[0, 0] + a_hat[0, 1] * x[0, 1]) @ layer.weight.T + layer.bias)


@pytest.mark.gpu
def test_sequence_layers_on_cuda_match_cpu():
    """Masks and packed lengths work on the GPU, and the fused causal kernels (half precision)
    agree with the CPU float32 result."""
    torch.manual_seed(0)
    enc = build("transformer_encoder_layer", {"nhead": 4, "dim_feedforward": 64, "causal": True,
                                              "key_padding": "lengths"}, (10, 32), ())
    lstm = build("lstm", {"hidden_size": 8, "bidirectional": True, "returns": "last", "lengths": True}, (10, 32), ())
    mha = build("multihead_attention", {"num_heads": 4, "causal": True}, (10, 32))
    x, lengths = torch.randn(3, 10, 32), torch.tensor([10, 4, 1])
    with torch.no_grad():
        want = [enc(x, lengths), lstm(x, lengths), mha(x)]
        xc, lc = x.cuda(), lengths.cuda()
        got = [enc.cuda()(xc, lc), lstm.cuda()(xc, lc), mha.cuda().half()(xc.half()).float()]
    for g, w, tol in zip(got, want, (1e-3, 1e-3, 2e-2)):
        torch.testing.assert_close(g.cpu(), w, rtol=tol, atol=tol)
