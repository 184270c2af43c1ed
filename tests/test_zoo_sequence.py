"""The sequence, attention and special-purpose zoo: published parameter counts, forward passes at
small sizes whose every node shape equals the summary's, and parity with hand-written torch models
(an LSTM classifier, torch's own transformer encoder and decoder layers) with weights copied by name."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from conftest import SPECS, run_cli
from netspec.check import check
from netspec.compiler import compile_model
from netspec.graph import concrete_inputs
from netspec.graph.infer import infer
from small_specs import small

#: published counts (GPT-2 small: vocab 50257, context 1024, tied embeddings; BERT base uncased:
#: vocab 30522, 512 positions, 2 token types, with pooler)
PUBLISHED = {"gpt2_small": 124_439_808, "bert_base": 109_482_240}

#: every spec of this family (run at the small sizes of tests/small_specs.py)
SEQUENCE = ["autoencoder", "bert_base", "bilstm_tagger", "char_rnn", "denoising_autoencoder", "gcn", "gpt2_small", "gpt_mini",
            "gru_seq2seq_attention", "lstm_classifier", "perceptron", "rbf_net", "siamese", "sparse_autoencoder",
            "transformer_classifier", "vae", "word2vec_skipgram"]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_parameter_count(name):
    assert check(SPECS / f"{name}.yaml").graph.params == PUBLISHED[name]


def test_summary_json_reports_gpt2s_published_count():
    result = run_cli("summary", "specs/gpt2_small.yaml", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["params"] == PUBLISHED["gpt2_small"]
    assert data["outputs"] == {"lm_head": ["seq", 50257]}
    assert next(n for n in data["nodes"] if n["name"] == "lm_head")["params"] == 0  # tied to wte


def random_inputs(graph, batch: int = 3) -> list[torch.Tensor]:
    """Token ids below the vocabulary of the embedding that reads them; lengths in [1, L] (and the
    first sample full length); floats elsewhere."""
    concrete = concrete_inputs(graph)
    seq_lengths = [t.shape[0] for t in concrete.values() if t.dtype == "int64" and t.shape]
    xs = []
    for name, t in concrete.items():
        shape = (batch,) + tuple(t.shape)
        if t.dtype != "int64":
            xs.append(torch.randn(shape))
        elif t.shape == () and any(n.layer.tag != "embedding" for n in _readers(graph, name)):
            longest = min(seq_lengths)
            xs.append(torch.cat([torch.tensor([longest]), torch.randint(1, longest + 1, (batch - 1,))]))
        else:
            vocab = min(n.layer.num_embeddings for n in _readers(graph, name))
            xs.append(torch.randint(0, vocab, shape))
    return xs


def _readers(graph, input_name: str):
    return [n for n in graph.nodes if ("input", input_name) in n.inputs]


def _recorder(seen: dict, name: str):
    def hook(_module, _inputs, out) -> None:
        seen[name] = [tuple(o.shape[1:]) for o in (out if isinstance(out, tuple) else (out,))]
    return hook


def _concrete(shape, dims: dict) -> tuple:
    return tuple(dims[d] if isinstance(d, str) else d for d in shape)


@pytest.mark.parametrize("name", SEQUENCE)
def test_forward_pass_matches_the_summary(name):
    """Compiles on CPU, runs a forward pass, and every node's real output shape equals the shape
    inference states at the spec's (small) dims; the outputs equal the summary's symbolic shapes."""
    checked = check(SPECS / f"{name}.yaml", small(name))
    assert not checked.warnings, [str(w) for w in checked.warnings]
    for graph in checked.graphs.values():
        symbolic = {k: t.shape for k, t in graph.output_types().items()}
        infer(graph, concrete_inputs(graph), None, record="types")  # the shapes at these dims
        model = compile_model(graph, seed=0).eval()
        assert sum(p.numel() for p in model.parameters()) == graph.params  # tied and shared weights once
        seen: dict[str, list] = {}
        for node in graph.nodes:
            if not node.share:
                model.get_submodule(node.name).register_forward_hook(_recorder(seen, node.name))
        with torch.no_grad():
            out = model(*random_inputs(graph))
        outs = out if isinstance(out, tuple) else (out,)
        got = [tuple(o.shape[1:]) for o in outs]
        assert got == [tuple(t.shape) for t in graph.output_types().values()]
        assert got == [_concrete(s, graph.dims) for s in symbolic.values()]
        assert all(torch.isfinite(o.float()).all() for o in outs)
        for node in graph.nodes:
            if not node.share:
                assert seen[node.name] == [tuple(t.shape) for t in node.out_types], node.name


# ---- LSTM classifier parity -----------------------------------------------------------------------

class LSTMClassifier(nn.Module):
    """The usual hand-written PyTorch many-to-one classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(20000, 100, padding_idx=0)
        self.lstm = nn.LSTM(100, 128, batch_first=True)
        self.fc = nn.Linear(128, 2)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(self.embedding(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.fc(h[-1])


def test_lstm_classifier_matches_a_hand_written_torch_model():
    torch.manual_seed(0)
    reference = LSTMClassifier().eval()
    model = compile_model(check(SPECS / "lstm_classifier.yaml").graph, seed=1).eval()
    ours, theirs = model.state_dict(), reference.state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in theirs.items()}
    assert not torch.equal(ours["fc.weight"], theirs["fc.weight"])
    model.load_state_dict(theirs, strict=True)
    tokens = torch.randint(1, 20000, (4, 12))
    lengths = torch.tensor([12, 5, 1, 9])
    with torch.no_grad():
        got, want = model(tokens, lengths), reference(tokens, lengths)
    assert got.shape == (4, 2)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)


# ---- transformer layers vs torch's ----------------------------------------------------------------

def _single_layer_spec(write_spec, layer: str, inputs: str) -> nn.Module:
    text = f"netspec: 1\ninputs:\n{inputs}\nmodel:\n  layers:\n    - {{name: layer, {layer}}}\n"
    graph = check(write_spec(text)).graph
    return compile_model(graph, seed=3).eval()


ENCODER_CASES = [
    ({"norm_first": False, "activation": "relu"}, "ffn_activation: relu"),
    ({"norm_first": True, "activation": "gelu"}, "ffn_activation: gelu, norm_first: true"),
]


@pytest.mark.parametrize("torch_kw,ours", ENCODER_CASES, ids=["post-norm-relu", "pre-norm-gelu"])
@pytest.mark.parametrize("padding", [False, True], ids=["no-mask", "padding-mask"])
def test_transformer_encoder_layer_matches_torch(write_spec, torch_kw, ours, padding):
    torch.manual_seed(0)
    reference = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1, batch_first=True, **torch_kw).eval()
    pad = ", key_padding: lengths" if padding else ""
    inputs = "  x: {shape: [seq, 32]}\n" + ("  lengths: {shape: [], dtype: int64}\n" if padding else "")
    wiring = ", inputs: [x, lengths]" if padding else ""
    model = _single_layer_spec(write_spec, f"transformer_encoder_layer: {{nhead: 4, dim_feedforward: 64, {ours}{pad}}}{wiring}",
                               inputs)
    model.layer.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(3, 10, 32)
    lengths = torch.tensor([10, 6, 2])
    with torch.no_grad():
        if padding:
            got = model(x, lengths)
            want = reference(x, src_key_padding_mask=torch.arange(10) >= lengths[:, None])
        else:
            got, want = model(x), reference(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_transformer_decoder_layer_matches_torch(write_spec):
    torch.manual_seed(0)
    reference = nn.TransformerDecoderLayer(16, 2, 32, dropout=0.1, batch_first=True).eval()
    inputs = "  tgt: {shape: [7, 16]}\n  memory: {shape: [9, 16]}\n  lengths: {shape: [], dtype: int64}\n"
    model = _single_layer_spec(write_spec, "transformer_decoder_layer: {nhead: 2, dim_feedforward: 32, "
                                           "memory_key_padding: lengths}, inputs: [tgt, memory, lengths]", inputs)
    model.layer.load_state_dict(reference.state_dict(), strict=True)
    tgt, memory, lengths = torch.randn(2, 7, 16), torch.randn(2, 9, 16), torch.tensor([9, 4])
    with torch.no_grad():
        got = model(tgt, memory, lengths)
        want = reference(tgt, memory, tgt_mask=nn.Transformer.generate_square_subsequent_mask(7), tgt_is_causal=True,
                         memory_key_padding_mask=torch.arange(9) >= lengths[:, None])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
