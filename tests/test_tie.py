"""Parameter tying (`tie: {weight: wte}`): one tensor after compiling, counted once, initialized
by its owner, rendered, and located errors for every way a tie can be wrong."""

from __future__ import annotations

import textwrap

import pytest
import torch

from layer_cases import CASES, case
from netspec.check import check
from netspec.compiler import compile_model
from netspec.diagnostics import diagnose
from netspec.errors import NetspecError, ShapeError, SpecErrors
from netspec.layers import all_layers
from netspec.render import canonical, to_yaml

HEAD = """\
netspec: 1
inputs:
  tokens: {shape: [seq], dtype: int64}
dims: {seq: 6}
model:
"""

LM = """\
  init:
    embedding: {weight: {type: normal, std: 0.02}}
    linear: {weight: xavier_uniform}
  layers:
    - {name: wte, embedding: {num_embeddings: 50, embedding_dim: 16}}
    - {name: block, transformer_encoder_layer: {nhead: 2, dim_feedforward: 32, causal: true, norm_first: true}}
    - {name: lm_head, linear: {out_features: 50, bias: false}, tie: {weight: wte}}
"""


def lm(write_spec, layers: str = LM):
    return check(write_spec(HEAD + textwrap.indent(textwrap.dedent(layers), "  ")))


def tie_errors(write_spec, layers: str) -> tuple[list[NetspecError], NetspecError]:
    with pytest.raises(NetspecError) as info:
        lm(write_spec, layers)
    err = info.value
    return (err.errors if isinstance(err, SpecErrors) else [err]), err


def test_tied_parameter_is_one_tensor_after_compile(write_spec):
    model = compile_model(lm(write_spec).graph, seed=0)
    assert model.lm_head.weight is model.wte.weight
    assert model.lm_head.weight.data_ptr() == model.wte.weight.data_ptr()
    # a training step through the output projection moves the embedding too
    before = model.wte.weight.detach().clone()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    logits = model(torch.randint(0, 50, (2, 6)))
    torch.nn.functional.cross_entropy(logits.reshape(-1, 50), torch.randint(0, 50, (12,))).backward()
    opt.step()
    assert not torch.equal(before, model.wte.weight)
    assert torch.equal(model.wte.weight, model.lm_head.weight)


def test_tied_parameter_is_counted_once(write_spec):
    checked = lm(write_spec)
    graph = checked.graph
    model = compile_model(graph, seed=0)
    assert graph.node("lm_head").params == 0
    assert graph.node("wte").params == 50 * 16
    assert graph.params == sum(p.numel() for p in model.parameters())
    untied = check(write_spec(HEAD + LM.replace(", tie: {weight: wte}", ""), "untied.yaml")).graph
    assert untied.params - graph.params == 50 * 16


def test_tied_parameter_keeps_its_owners_initialization(write_spec):
    model = compile_model(lm(write_spec).graph, seed=0)
    # the embedding's normal(std 0.02) init, not the linear default (xavier bound ≈ 0.34)
    assert model.lm_head.weight.std().item() == pytest.approx(0.02, rel=0.1)


def test_canonical_form_keeps_the_tie(write_spec):
    checked = lm(write_spec)
    text = to_yaml(canonical(checked))
    assert "tie: {weight: wte}" in text
    again = check(write_spec(text, "canonical.yaml"))
    assert again.graph.params == checked.graph.params
    assert again.graph.node("lm_head").tie == {"weight": "wte"}


def test_tie_inside_a_repeated_layer_and_in_summary_totals(write_spec):
    layers = """\
      layers:
        - {name: wte, embedding: {num_embeddings: 20, embedding_dim: 8}}
        - {name: proj, linear: {out_features: 8}}
        - {name: again, linear: {out_features: 8}, tie: {weight: proj, bias: proj}, repeat: 2}
    """
    graph = lm(write_spec, layers).graph
    model = compile_model(graph)
    assert model.again[0].weight is model.proj.weight and model.again[1].bias is model.proj.bias
    assert graph.params == 20 * 8 + 8 * 8 + 8 == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("layers,message,hint", [
    ("{name: lm_head, linear: {out_features: 50, bias: false}, tie: {weight: wtee}}",
     "is not a layer in this scope", "did you mean 'wte'"),
    ("{name: lm_head, linear: {out_features: 50, bias: false}, tie: {wieght: wte}}",
     "linear has no parameter 'wieght'", "did you mean 'weight'"),
    ("{name: lm_head, linear: {out_features: 49, bias: false}, tie: {weight: wte}}",
     "cannot tie weight (49, 16) to 'wte'", "same shape"),
    ("{name: lm_head, linear: {out_features: 50}, tie: {bias: wte}}",
     "'wte' (embedding) has no parameter 'bias'", "weight"),
    ("{name: lm_head, linear: {out_features: 50}, tie: {weight: lm_head}}", "cannot tie to itself", None),
    ("{name: lm_head, linear: {out_features: 50}, tie: {weight: tokens}}", "cannot tie to an input", None),
    ("{name: lm_head, linear: {out_features: 50}, tie: [wte]}", "expected a mapping {parameter: node}", None),
    ("{name: lm_head, tie: {weight: wte}, share: wte}", "a node with `share` already uses", None),
])
def test_bad_tie_is_located(write_spec, layers, message, hint):
    text = f"""\
      layers:
        - {{name: wte, embedding: {{num_embeddings: 50, embedding_dim: 16}}}}
        - {layers}
    """
    errors, err = tie_errors(write_spec, text)
    assert len(errors) == 1, [str(e) for e in errors]
    e = errors[0]
    assert message in e.message
    if hint:
        assert hint in (e.hint or "")
    assert e.path[:3] == ("model", "layers", 1) and "tie" in e.path
    diag = diagnose(err, err.source, "spec.yaml")[0]
    assert diag.line == HEAD.count("\n") + 3  # the second layer's line in the file


def test_shape_mismatch_is_a_shape_error(write_spec):
    errors, _ = tie_errors(write_spec, """\
      layers:
        - {name: wte, embedding: {num_embeddings: 50, embedding_dim: 16}}
        - {name: lm_head, linear: {out_features: 49, bias: false}, tie: {weight: wte}}
    """)
    assert isinstance(errors[0], ShapeError) and errors[0].path == ("model", "layers", 1, "tie", "weight")


def test_tie_to_a_tied_parameter_points_at_the_owner(write_spec):
    errors, _ = tie_errors(write_spec, """\
      layers:
        - {name: wte, embedding: {num_embeddings: 50, embedding_dim: 16}}
        - {name: a, linear: {out_features: 16}}
        - {name: b, linear: {out_features: 16}, tie: {weight: a}}
        - {name: c, linear: {out_features: 16}, tie: {weight: b}}
    """)
    assert len(errors) == 1 and "'b''s weight is itself tied to 'a'" in errors[0].message
    assert errors[0].hint == "tie to 'a' directly" and errors[0].path == ("model", "layers", 3, "tie", "weight")


def test_layer_without_parameter_shapes_cannot_tie(write_spec, monkeypatch):
    monkeypatch.setattr(all_layers()["linear"], "param_shapes", lambda self, *shapes: None)
    errors, _ = tie_errors(write_spec, """\
      layers:
        - {name: wte, embedding: {num_embeddings: 50, embedding_dim: 16}}
        - {name: lm_head, linear: {out_features: 50, bias: false}, tie: {weight: wte}}
    """)
    assert "linear does not declare its parameter shapes" in errors[0].message


def test_tie_on_a_block_use_is_refused(write_spec):
    text = HEAD.replace("model:\n", """\
blocks:
  mlp:
    layers:
      - linear: {out_features: 16}
model:
""") + textwrap.indent(textwrap.dedent("""\
      layers:
        - {name: wte, embedding: {num_embeddings: 50, embedding_dim: 16}}
        - {name: m, mlp: {}, tie: {weight: wte}}
    """), "  ")
    with pytest.raises(NetspecError) as info:
        check(write_spec(text))
    assert "`tie` applies to a layer, not to a block use" in str(info.value)


PARAM_CASES = [(tag, i) for tag, i in CASES if case(tag, i)[0].param_shapes(*case(tag, i)[1].inputs) is not None]


@pytest.mark.parametrize("tag,i", PARAM_CASES, ids=[f"{t}-{i}" for t, i in PARAM_CASES])
def test_declared_parameter_shapes_match_torch(tag, i):
    """What `tie` checks in plain Python is what the built module really has."""
    layer, ex, _ = case(tag, i)
    module = layer.build(*ex.inputs)
    real = {n: tuple(p.shape) for n, p in module.named_parameters() if not n.startswith("activation.")}
    assert layer.param_shapes(*ex.inputs) == real


def test_a_node_used_only_through_a_tie_is_not_reported_unreachable(write_spec):
    layers = """\
      layers:
        - {name: table, embedding: {num_embeddings: 50, embedding_dim: 6}, inputs: [tokens]}
        - {name: other, embedding: {num_embeddings: 50, embedding_dim: 6}, inputs: [tokens], tie: {weight: table}}
      outputs: [other]
    """
    checked = lm(write_spec, layers)
    assert checked.warnings == []
    model = compile_model(checked.graph)
    assert model.other.weight is model.table.weight and checked.graph.params == 300
