"""Graph building: wiring by name, blocks, repeat, sharing, shape inference, costs, constraints."""

from __future__ import annotations

import textwrap

import pytest

from netspec.check import check
from netspec.errors import NetspecError, SpecErrors
from netspec.summary import ref_name


def build(write_spec, body: str, inputs: str = "x: {shape: [8]}", extra: str = ""):
    text = f"netspec: 1\ninputs:\n  {inputs}\n{textwrap.dedent(extra)}model:\n{textwrap.indent(textwrap.dedent(body), '  ')}"
    return check(write_spec(text))


def errors_of(write_spec, body: str, **kw) -> list[NetspecError]:
    with pytest.raises(NetspecError) as info:
        build(write_spec, body, **kw)
    err = info.value
    return err.errors if isinstance(err, SpecErrors) else [err]


def one_error(write_spec, body: str, **kw) -> NetspecError:
    errs = errors_of(write_spec, body, **kw)
    assert len(errs) == 1, [str(e) for e in errs]
    return errs[0]


def shapes(checked):
    return {n.name: [t.shape for t in n.out_types] for n in checked.graph.nodes}


def test_sequential_chain_and_default_names(write_spec):
    c = build(write_spec, """
        layers:
          - linear: {out_features: 4}
          - relu
          - {name: out, linear: {out_features: 2}}
        """)
    g = c.graph
    assert [n.name for n in g.nodes] == ["linear_0", "relu_1", "out"]
    assert [ref_name(v) for v in g.node("relu_1").inputs] == ["linear_0"]
    assert g.outputs == [("out", ("node", "out", 0))]
    assert g.params == 8 * 4 + 4 + 4 * 2 + 2


def test_dag_with_forward_reference_concat_and_two_outputs(write_spec):
    c = build(write_spec, """
        layers:
          - {name: both, concat: {dim: 1}, inputs: [a, b]}
          - {name: a, linear: {out_features: 3}, inputs: [x]}
          - {name: b, linear: {out_features: 5}, inputs: [x]}
          - {name: head, linear: {out_features: 2}, inputs: [both]}
        outputs: [head, a]
        """)
    g = c.graph
    order = [n.name for n in g.nodes]
    assert order.index("a") < order.index("both") and order.index("b") < order.index("both")
    assert shapes(c)["both"] == [(8,)]
    assert [name for name, _ in g.outputs] == ["head", "a"]


def test_split_outputs_are_addressed_by_index(write_spec):
    c = build(write_spec, """
        layers:
          - {name: parts, split: {split_size_or_sections: [3, 5]}}
          - {name: left, linear: {out_features: 2}, inputs: [parts.0]}
          - {name: right, linear: {out_features: 2}, inputs: [parts.1]}
          - {add: {}, inputs: [left, right]}
        """)
    assert c.graph.node("left").in_types[0].shape == (3,)
    assert c.graph.node("right").in_types[0].shape == (5,)


def test_several_outputs_without_a_selector_is_an_error(write_spec):
    err = one_error(write_spec, """
        layers:
          - {name: parts, split: {split_size_or_sections: 4}}
          - linear: {out_features: 2}
        """)
    assert "has 2 outputs" in err.message and err.hint == "add `inputs: [parts.0]`"


def test_multiple_inputs_must_be_chosen(write_spec):
    err = one_error(write_spec, """
        layers:
          - linear: {out_features: 2}
        """, inputs="a: {shape: [4]}\n  b: {shape: [4]}")
    assert "several inputs (a, b)" in err.message
    c = build(write_spec, """
        layers:
          - {add: {}, inputs: [a, b]}
        """, inputs="a: {shape: [4]}\n  b: {shape: [4]}")
    assert list(c.graph.inputs) == ["a", "b"]


def test_unknown_reference_has_did_you_mean(write_spec):
    err = one_error(write_spec, """
        layers:
          - {name: encoder, linear: {out_features: 4}}
          - {linear: {out_features: 2}, inputs: [encodr]}
        """)
    assert err.message == "unknown node 'encodr'" and err.hint == "did you mean 'encoder'?"
    assert err.path == ("model", "layers", 1, "inputs", 0)


def test_cycle_is_reported_once_at_its_first_node(write_spec):
    err = one_error(write_spec, """
        layers:
          - {name: a, linear: {out_features: 8}, inputs: [c]}
          - {name: b, relu: {}, inputs: [a]}
          - {name: c, relu: {}, inputs: [b]}
        """)
    assert err.message == "inputs form a cycle: a → b → c → a"
    assert err.path == ("model", "layers", 0, "inputs")


def test_arity(write_spec):
    err = one_error(write_spec, """
        layers:
          - {name: a, linear: {out_features: 8}}
          - {add: {}, inputs: [a]}
        """)
    assert err.message == "add takes at least 2 input(s), got 1"
    err = one_error(write_spec, """
        layers:
          - {name: a, linear: {out_features: 8}}
          - {linear: {out_features: 2}, inputs: [a, x]}
        """)
    assert "linear takes 1 input(s), got 2" in err.message and "merge layer" in err.hint


def test_duplicate_and_reserved_names(write_spec):
    errs = errors_of(write_spec, """
        layers:
          - {name: a, linear: {out_features: 8}}
          - {name: a, relu: {}}
          - {name: forward, relu: {}}
          - {name: x, relu: {}}
        """)
    messages = sorted(e.message for e in errs)
    assert any("'a' is already used by another layer" in m for m in messages)
    assert any("'forward' is reserved" in m for m in messages)
    assert any("'x' is already used by an input" in m for m in messages)


def test_shape_error_names_the_layer_and_hints(write_spec):
    err = one_error(write_spec, """
        layers:
          - {name: conv, conv2d: {out_channels: 4, kernel_size: 3}}
          - {name: fc, linear: {out_features: 10}}
        """, inputs="img: {shape: [1, 8, 8]}")
    assert err.context == "linear 'fc'"
    assert err.message == "expects a flat feature vector (F,) or a sequence of vectors (L, F), got (4, 6, 6)"
    assert err.hint == "add `- flatten` before it"
    assert err.path == ("model", "layers", 1)


def test_dtype_mismatch(write_spec):
    err = one_error(write_spec, "layers:\n  - linear: {out_features: 2}\n", inputs="t: {shape: [seq], dtype: int64}")
    assert err.message == "expects float32 input, got int64" and "embedding" in err.hint
    c = build(write_spec, "layers:\n  - embedding: {num_embeddings: 10, embedding_dim: 4}\n  - linear: {out_features: 2}\n",
              inputs="t: {shape: [seq], dtype: int64}", extra="dims: {seq: 12}\n")
    assert c.graph.node("linear_1").out_types[0].shape == ("seq", 2)
    assert c.graph.node("linear_1").flops == 2 * 4 * 2 * 12  # costs at the example size seq=12


def test_null_dims_become_named_symbols(write_spec):
    c = build(write_spec, "layers:\n  - linear: {out_features: 2}\n", inputs="x: {shape: [null, 3]}")
    assert c.graph.inputs["x"].shape == ("x_dim0", 3)


BLOCKS = """
blocks:
  dense:
    args: {units: int, act: relu, drop: 0.0}
    layers:
      - {name: fc, linear: {out_features: "${units}"}}
      - {name: act, "${act}": {}}
      - {name: drop, dropout: {p: "${drop}"}}
"""


def test_blocks_expand_with_qualified_names_and_defaults(write_spec):
    c = build(write_spec, """
        layers:
          - {name: enc, dense: {units: 6}}
          - {name: head, dense: {units: 2, act: tanh, drop: 0.1}}
        """, extra=BLOCKS)
    names = [n.name for n in c.graph.nodes]
    assert names == ["enc.fc", "enc.act", "enc.drop", "head.fc", "head.act", "head.drop"]
    assert c.graph.node("head.act").layer.tag == "tanh"
    assert c.graph.node("head.drop").layer.p == 0.1
    assert c.graph.outputs[0][0] == "head"


def test_block_argument_errors(write_spec):
    errs = errors_of(write_spec, """
        layers:
          - {name: a, dense: {unit: 6}}
          - {name: b, dense: {units: six}}
        """, extra=BLOCKS)
    text = sorted(f"{e.message} | {e.hint}" for e in errs)
    assert any("block 'dense' has no argument 'unit' | did you mean 'units'?" in t for t in text)
    assert not any("needs argument" in t for t in text)  # the misspelt key already says it
    assert any("argument 'units' of block 'dense': expected an int, got 'six'" in t for t in text)


def test_unknown_and_unused_block_arguments_in_the_definition(write_spec):
    extra = """
blocks:
  bad:
    args: {units: int, unused: 3}
    layers:
      - linear: {out_features: "${unit}"}
"""
    errs = errors_of(write_spec, "layers:\n  - relu\n", extra=extra)
    by_msg = {e.message: e for e in errs}
    assert by_msg["unknown block argument ${unit}"].hint == "did you mean 'units'?"
    assert by_msg["unknown block argument ${unit}"].path == ("blocks", "bad", "layers", 0, "linear", "out_features")
    assert by_msg["argument 'unused' is declared but never used"].at_key
    assert by_msg["argument 'unused' is declared but never used"].path == ("blocks", "bad", "args", "unused")
    assert len(errs) == 2  # 'units' is what ${unit} meant: not reported as unused too


def test_error_from_a_substituted_value_points_at_the_use(write_spec):
    errs = errors_of(write_spec, "layers:\n  - {name: a, dense: {units: 0}}\n", extra=BLOCKS)
    assert len(errs) == 1
    assert errs[0].path == ("model", "layers", 0, "dense", "units")
    assert errs[0].message == "expected a positive number, got 0"


def test_error_inside_a_block_body_has_a_note_for_the_use(write_spec):
    extra = """
blocks:
  conv:
    args: {out: int}
    layers:
      - conv2d: {out_channels: "${out}", kernel_size: 3}
      - linear: {out_features: 2}
"""
    err = one_error(write_spec, "layers:\n  - {name: c, conv: {out: 4}}\n", inputs="img: {shape: [1, 8, 8]}", extra=extra)
    assert err.path == ("blocks", "conv", "layers", 1)
    assert err.notes == [(("model", "layers", 0), "in block 'conv' used here")]


def test_refs_outside_blocks_are_errors(write_spec):
    err = one_error(write_spec, 'layers:\n  - linear: {out_features: "${n}"}\n')
    assert "not inside a block" in err.message


def test_recursive_block_is_an_error(write_spec):
    extra = "blocks:\n  loop:\n    layers:\n      - loop: {}\n"
    err = one_error(write_spec, "layers:\n  - loop: {}\n", extra=extra)
    assert err.message == "block 'loop' uses itself"


def test_repeat_chains_and_first_overrides(write_spec):
    extra = """
blocks:
  stage:
    args: {out: int, stride: 1}
    layers:
      - {name: conv, conv2d: {out_channels: "${out}", kernel_size: 3, stride: "${stride}", padding: 1}}
"""
    c = build(write_spec, """
        layers:
          - {name: s, stage: {out: 4}, repeat: {count: 3, first: {stride: 2}}}
          - flatten
          - {name: fc, linear: {out_features: 3}, repeat: 2}
        """, inputs="img: {shape: [2, 8, 8]}", extra=extra)
    s = shapes(c)
    assert s["s.0.conv"] == [(4, 4, 4)] and s["s.1.conv"] == [(4, 4, 4)] and s["s.2.conv"] == [(4, 4, 4)]
    assert c.graph.node("s.0.conv").layer.stride == 2 and c.graph.node("s.1.conv").layer.stride == 1
    assert s["fc.0"] == [(3,)] and s["fc.1"] == [(3,)]
    assert [ref_name(v) for v in c.graph.node("fc.1").inputs] == ["fc.0"]


def test_block_with_several_inputs_and_named_outputs(write_spec):
    extra = """
blocks:
  pair:
    inputs: [left, right]
    layers:
      - {name: s, add: {}, inputs: [left, right]}
      - {name: d, multiply: {}, inputs: [left, right]}
    outputs: [s, d]
"""
    c = build(write_spec, """
        layers:
          - {name: p, pair: {}, inputs: [a, b]}
          - {name: out, concat: {}, inputs: [p.s, p.d]}
        """, inputs="a: {shape: [3]}\n  b: {shape: [3]}", extra=extra)
    assert shapes(c)["out"] == [(6,)]
    err = one_error(write_spec, "layers:\n  - {name: p, pair: {}, inputs: [a, b]}\n  - {relu: {}, inputs: [p]}\n",
                    inputs="a: {shape: [3]}\n  b: {shape: [3]}", extra=extra)
    assert "several outputs (s, d)" in err.message


def test_share_a_layer_and_a_block(write_spec):
    extra = """
blocks:
  tower:
    layers:
      - {name: fc1, linear: {out_features: 4, activation: relu}}
      - {name: fc2, linear: {out_features: 2}}
"""
    c = build(write_spec, """
        layers:
          - {name: ta, tower: {}, inputs: [a]}
          - {name: tb, share: ta, inputs: [b]}
          - {name: d, add: {}, inputs: [ta, tb]}
        """, inputs="a: {shape: [5]}\n  b: {shape: [5]}", extra=extra)
    g = c.graph
    assert g.node("tb.fc1").share == "ta.fc1" and g.node("tb.fc2").share == "ta.fc2"
    assert g.params == (5 * 4 + 4) + (4 * 2 + 2)  # counted once
    err = one_error(write_spec, """
        layers:
          - {name: ta, tower: {}, inputs: [a]}
          - {name: tb, share: ta, inputs: [b]}
        """, inputs="a: {shape: [5]}\n  b: {shape: [6]}", extra=extra)
    assert "shares weights with 'ta.fc1'" in err.message


def test_constraints(write_spec):
    body = "layers:\n  - {name: out, linear: {out_features: 2}}\n"
    errs = errors_of(write_spec, body, extra="constraints: {max_params: 10, output_shapes: {out: [3], nope: [1]}}\n")
    messages = sorted(e.message for e in errs)
    assert messages == ["no output named 'nope'", "output 'out' has shape (2,), expected (3,)",
                        "the model has 18 parameters, more than max_params 10"]


def test_multi_model_spec(write_spec):
    text = """netspec: 1
models:
  generator:
    inputs: {z: {shape: [4]}}
    layers:
      - {name: img, linear: {out_features: 6, activation: tanh}}
  discriminator:
    inputs: {img: {shape: [6]}}
    layers:
      - {name: score, linear: {out_features: 1}}
"""
    c = check(write_spec(text))
    assert set(c.graphs) == {"generator", "discriminator"}
    assert c.graphs["generator"].path == ("models", "generator")


def test_unreachable_nodes_warn(write_spec):
    c = build(write_spec, """
        layers:
          - {name: a, linear: {out_features: 3}}
          - {name: dead, linear: {out_features: 3}, inputs: [x]}
          - {name: out, relu: {}, inputs: [a]}
        """)
    assert [w.message for w in c.warnings] == ["'dead' does not reach any output"]
    assert c.warnings[0].kind == "warning"


def test_all_structural_problems_at_once(write_spec):
    path = write_spec("""netspec: 1
nmae: x
inputs: {x: {shape: [4]}}
model:
  layers:
    - {name: a, linear: {out_features: 2}, inputs: [y]}
    - {name: b, lineer: {}}
""")
    with pytest.raises(SpecErrors) as info:
        check(path)
    assert sorted(e.message for e in info.value.errors) == [
        "unknown key 'nmae'", "unknown layer type 'lineer'", "unknown node 'y'"]
