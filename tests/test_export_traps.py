"""The traps of torch 2.13's ONNX exporter, each with the design that avoids it:

* opset 16-17 silently written as 18 -> the written opset is checked; the TorchScript exporter is
  the fallback below 18;
* AdaptiveAvgPool2d over a dynamic height/width bakes its windows, AdaptiveMaxPool2d does not
  export -> explicit windows at static sizes, a located refusal for dynamic ones;
* LSTM/GRU exports freeze the sequence axis -> the ONNX recurrent operators via a custom op, the
  dispatch caches cleared, and every dynamic axis checked in the written graph;
* opset 23 attention with a padding mask fails in onnxruntime -> the mask is expanded; below 23,
  a query with no key to attend to came out as the mean of the values instead of PyTorch's zeros;
* parametrizations (spectral/weight norm) are baked into plain weights on a copy;
* an operator without ONNX mapping is an error located at the spec's node.
"""

from __future__ import annotations

import contextlib
import copy
import io
from pathlib import Path

import onnx
import pytest
import torch
from torch import nn

from conftest import SPECS
from export_helpers import assert_verified
from netspec.check import check
from netspec.compiler import compile_model
from netspec.errors import ExportError
from netspec.export import export_module, export_spec, verify
from netspec.export.postprocess import check_dynamic
from netspec.export.prepare import adaptive_pool, export_copy, pool_spec

TRANSFORMER = ["dims.seq=12"]
PLUGINS = Path(__file__).resolve().parent / "plugins"


def _opset(path) -> int:
    proto = onnx.load(str(path), load_external_data=False)
    return next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))


def _dims(values) -> dict[str, list]:
    return {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in values}


# ---- opset ---------------------------------------------------------------------------------------

def test_an_opset_below_18_is_written_as_asked_or_the_torchscript_exporter_takes_over(tmp_path):
    path = SPECS / "transformer_classifier.yaml"
    checked = check(path, TRANSFORMER)
    model = compile_model(checked.graph, seed=0).eval()
    raw = tmp_path / "raw.onnx"
    with contextlib.redirect_stdout(io.StringIO()):
        torch.onnx.export(model, (torch.randint(0, 100, (2, 12)), torch.tensor([12, 5])), str(raw), dynamo=True,
                          opset_version=17, dynamic_shapes={"args": ({0: torch.export.Dim("b")}, {0: torch.export.Dim("b")})})
    done = export_spec(path, TRANSFORMER, out=tmp_path / "t.onnx", opset=17)
    assert_verified(done, checked, opset=17)
    assert _opset(done[0].path) == 17 and done[0].opset == 17
    try:  # the exporter's own result: opset 18, or an invalid opset-17 file (measured on torch 2.13)
        onnx.checker.check_model(str(raw), full_check=True)
        raw_ok = _opset(raw) == 17
    except onnx.checker.ValidationError:
        raw_ok = False
    if not raw_ok:
        assert done[0].exporter == "torchscript" and "could not convert down to opset 17" in done[0].notes[0]


def test_a_convertible_model_stays_on_the_current_exporter_at_opset_16(tmp_path):
    done = export_spec(SPECS / "lenet5.yaml", out=tmp_path / "l.onnx", opset=16)
    assert _opset(done[0].path) == 16 and done[0].exporter == "dynamo" and done[0].verified


def test_an_opset_no_exporter_reaches_is_an_error_that_names_a_working_one(tmp_path):
    with pytest.raises(ExportError, match="cannot export at opset 9") as info:
        export_spec(SPECS / "transformer_classifier.yaml", TRANSFORMER, out=tmp_path / "t.onnx", opset=9)
    assert "opset 18 or higher" in info.value.hint
    assert not (tmp_path / "t.onnx").exists()


# ---- adaptive pooling ----------------------------------------------------------------------------

POOL_SPEC = """netspec: 1
dims: {{h: 32, w: 32}}
inputs:
  image: {{shape: [3, h, w]}}
model:
  layers:
    - {{name: conv, conv2d: {{out_channels: 4, kernel_size: 3, padding: 1}}}}
    - {{name: pool, {pool}: {{output_size: {size}}}}}
    - flatten
    - {{name: fc, linear: {{out_features: 2}}}}
"""


@pytest.mark.parametrize("pool", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_dynamic_height_and_width_through_adaptive_pooling_are_refused_at_the_node(pool, write_spec, tmp_path):
    spec = write_spec(POOL_SPEC.format(pool=pool, size=3))
    with pytest.raises(ExportError, match="cannot keep the height and width dynamic") as info:
        export_spec(spec, out=tmp_path / "p.onnx")
    err = info.value
    assert err.path == ("model", "layers", 1) and err.context == f"{pool} 'pool'"
    assert "--dynamic batch" in err.hint and not (tmp_path / "p.onnx").exists()


@pytest.mark.parametrize("pool", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_pooling_exports_with_fixed_spatial_axes(pool, write_spec, tmp_path):
    spec = write_spec(POOL_SPEC.format(pool=pool, size=3))
    done = export_spec(spec, ["dims.h=13", "dims.w=13"], out=tmp_path / "p.onnx", dynamic=["batch"])
    assert_verified(done, check(spec, ["dims.h=13", "dims.w=13"]))
    assert _dims(onnx.load(str(done[0].path)).graph.input)["image"] == ["batch", 3, 13, 13]


@pytest.mark.parametrize("pool", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_global_adaptive_pooling_keeps_height_and_width_dynamic(pool, write_spec, tmp_path):
    spec = write_spec(POOL_SPEC.format(pool=pool, size=1))
    done = export_spec(spec, out=tmp_path / "p.onnx")
    assert_verified(done, check(spec))
    assert _dims(onnx.load(str(done[0].path)).graph.input)["image"] == ["batch", 3, "h", "w"]


@pytest.mark.parametrize("cls,out,size", [
    (nn.AdaptiveAvgPool2d, (6, 6), (1, 1)),      # AlexNet at 64x64: 1x1 is spread to 6x6
    (nn.AdaptiveAvgPool2d, (6, 6), (13, 13)), (nn.AdaptiveMaxPool2d, (3, 5), (13, 11)),
    (nn.AdaptiveMaxPool2d, (4, 4), (8, 8)), (nn.AdaptiveAvgPool1d, (7,), (20,)), (nn.AdaptiveMaxPool1d, (1,), (9,)),
    (nn.AdaptiveAvgPool3d, (2, 3, 3), (5, 7, 7)), (nn.AdaptiveMaxPool3d, (1, 2, 2), (4, 6, 6)),
    (nn.AdaptiveAvgPool2d, (None, 2), (5, 7)),
])
def test_explicit_adaptive_windows_equal_torch(cls, out, size):
    torch_pool = cls(out if len(out) > 1 else out[0])
    x = torch.randn(2, 3, *size)
    torch.testing.assert_close(adaptive_pool(x, *pool_spec(torch_pool)), torch_pool(x), rtol=1e-6, atol=1e-6)


def test_adaptive_3d_pooling_to_several_cells_exports(tmp_path):
    model = nn.Sequential(nn.Conv3d(2, 3, 3, padding=1), nn.AdaptiveAvgPool3d((2, 3, 3)), nn.AdaptiveMaxPool3d((1, 2, 2)))
    export_module(model, [torch.randn(2, 2, 5, 7, 7)], ["x"], ["y"], tmp_path / "p.onnx", dynamic_axes={"x": {0: "batch"}})
    report = verify(tmp_path / "p.onnx", model, [[torch.randn(1, 2, 5, 7, 7)], [torch.randn(4, 2, 5, 7, 7)]])
    assert report.ok and [r.batch for r in report.runs] == [1, 4]


# ---- recurrent layers ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["char_rnn", "lstm_classifier"])
def test_recurrent_exports_in_one_process_keep_the_sequence_axis(name, tmp_path):
    """Several LSTM exports in one process (a second export froze the axis on torch 2.13)."""
    done = export_spec(SPECS / f"{name}.yaml", ["dims.seq=12"], out=tmp_path / "r.onnx")
    assert_verified(done, check(SPECS / f"{name}.yaml", ["dims.seq=12"]))
    graph = onnx.load(str(done[0].path)).graph
    first_input = _dims(graph.input)[graph.input[0].name]
    assert first_input[:2] == ["batch", "seq"]
    for out in _dims(graph.output).values():  # (batch, seq, vocab) or (batch, classes)
        assert all(isinstance(d, str) for d in out[:-1]), out
    assert {n.op_type for n in graph.node} & {"LSTM", "GRU", "RNN"}


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU, nn.RNN])
def test_a_plain_torch_recurrent_module_exports_with_a_dynamic_sequence(kind, tmp_path):
    """Without the ONNX-operator form, aten.lstm/gru bake the example length into the output shape."""
    module = kind(4, 6, num_layers=2, batch_first=True, bidirectional=True).eval()
    axes = {"x": {0: "batch", 1: "seq"}}
    for i in range(2 if kind is nn.LSTM else 1):  # an LSTM twice in one process
        export_module(module, [torch.randn(2, 7, 4)], ["x"], ["y", "h"], tmp_path / f"r{i}.onnx", dynamic_axes=axes,
                      dynamic_outputs={"y": {0: "batch", 1: "seq"}})
        y = _dims(onnx.load(str(tmp_path / f"r{i}.onnx")).graph.output)["y"]
        assert all(isinstance(d, str) for d in y[:2]), y
        report = verify(tmp_path / f"r{i}.onnx", module, [[torch.randn(1, 3, 4)], [torch.randn(3, 11, 4)]])
        assert report.ok, report.worst()


def test_an_axis_that_came_out_fixed_is_an_error(tmp_path):
    class Fixed(nn.Module):  # broadcasting against a constant forces the batch to 2
        def forward(self, x):
            return x + torch.ones(2, 3)

    with pytest.raises(ExportError, match=r"input 'x' axis 0 \(batch\) = 2"):
        export_module(Fixed(), [torch.randn(2, 3)], ["x"], ["y"], tmp_path / "f.onnx", dynamic_axes={"x": {0: "batch"}})
    proto = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 7])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 7])]))
    check_dynamic(proto, {"x": {0: "batch"}}, {"y": {0: "batch"}})  # symbolic: fine
    with pytest.raises(ExportError, match=r"output 'y' axis 1 \(seq\) = 7"):
        check_dynamic(proto, {"x": {0: "batch"}}, {"y": {1: "seq"}})


# ---- attention at opset 23 -----------------------------------------------------------------------

def test_a_transformer_with_a_padding_mask_runs_in_onnxruntime_at_opset_23(tmp_path):
    done = export_spec(SPECS / "transformer_classifier.yaml", TRANSFORMER, out=tmp_path / "t.onnx", opset=23)
    assert_verified(done, check(SPECS / "transformer_classifier.yaml", TRANSFORMER), opset=23)
    graph = onnx.load(str(done[0].path)).graph
    producers = {o: n.op_type for n in graph.node for o in n.output}
    masks = [n.input[3] for n in graph.node if n.op_type == "Attention" and len(n.input) > 3 and n.input[3]]
    assert masks and all(producers[m] == "Expand" for m in masks)


MASKED_SPEC = """netspec: 1
dims: {seq: 10}
inputs:
  x: {shape: [seq, 16]}
  pad: {shape: [seq], dtype: bool}
model:
  layers:
    - {name: enc, transformer_encoder_layer: {nhead: 2, dim_feedforward: 32, key_padding: mask, causal: true},
       inputs: [x, pad]}
"""


@pytest.mark.parametrize("opset", [18, 23])
def test_a_query_with_no_key_to_attend_to_gives_what_pytorch_gives(opset, write_spec, tmp_path):
    """Causal attention over left padding: the first queries see only padding. PyTorch gives zeros
    there; the exporter's own translation below opset 23 gave the mean of the values."""
    spec = write_spec(MASKED_SPEC)
    checked = check(spec)
    (done,) = export_spec(spec, out=tmp_path / "m.onnx", opset=opset)
    assert_verified([done], checked, opset=opset)  # random masks
    model = compile_model(checked.graph, seed=0).eval()
    pad = torch.zeros(3, 7, dtype=torch.bool)
    pad[0, :3] = True  # left padding: queries 0-2 of sample 0 have no key
    pad[1, :] = True   # a sample that is all padding
    report = verify(done.path, model, [[torch.randn(3, 7, 16), pad]])
    assert report.ok, report.worst()


# ---- parametrizations ----------------------------------------------------------------------------

def test_spectral_and_weight_norm_are_baked_into_plain_weights(write_spec, tmp_path):
    spec = write_spec("""netspec: 1
inputs:
  image: {shape: [3, 16, 16]}
model:
  layers:
    - {name: conv, conv2d: {out_channels: 8, kernel_size: 3, spectral_norm: true, activation: leaky_relu}}
    - flatten
    - {name: fc, linear: {out_features: 4, weight_norm: true}}
""")
    done = export_spec(spec, out=tmp_path / "n.onnx")
    assert_verified(done, check(spec))
    model = compile_model(check(spec).graph, seed=0)
    copy_ = export_copy(model)
    assert not any("parametrizations" in k for k in copy_.state_dict())
    assert any("parametrizations" in k for k in model.state_dict())  # the caller's model is untouched


# ---- operators without an ONNX mapping -----------------------------------------------------------

def test_an_operator_without_onnx_mapping_is_located_at_its_node(write_spec, tmp_path, monkeypatch):
    from netspec.layers import registry

    monkeypatch.syspath_prepend(str(PLUGINS))
    from cummax_layer import CumMax

    monkeypatch.setitem(registry._LAYERS, CumMax.tag, CumMax)
    spec = write_spec("""netspec: 1
inputs:
  x: {shape: [6]}
model:
  layers:
    - {name: fc, linear: {out_features: 5}}
    - {name: running, cummax: {}}
""")
    with pytest.raises(ExportError, match="aten.cummax has no ONNX mapping at opset 18") as info:
        export_spec(spec, out=tmp_path / "c.onnx")
    assert info.value.path == ("model", "layers", 1) and info.value.context == "cummax 'running'"
    assert "opset" in info.value.hint and "replace the layer" in info.value.hint


def test_the_export_copy_leaves_the_model_alone():
    model = compile_model(check(SPECS / "lstm_classifier.yaml", ["dims.seq=5"]).graph, seed=0).train()
    before = copy.deepcopy(model.state_dict())
    exported = export_copy(model)
    assert model.training and not exported.training
    assert type(model.get_submodule("lstm")).__name__ == "LSTM"
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
