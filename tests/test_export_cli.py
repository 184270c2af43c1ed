"""`netspec export`: exit codes for success (0), verification failure (1), unexportable specs (1) and
usage errors (2); stdout stays machine-readable; options from the spec's `export:` section and
their command-line overrides; safetensors weights that rebuild the same model."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
import torch
from typer.testing import CliRunner

from conftest import SPECS, run_cli
from netspec.check import check
from netspec.cli.app import app
from netspec.compiler import compile_model
from netspec.export import export_spec
from netspec.export.metadata import parse, spec_hash
from netspec.export.weights import load_weights, read_header

PLUGINS = Path(__file__).resolve().parent / "plugins"
runner = CliRunner()

POOL_SPEC = """netspec: 1
dims: {h: 32, w: 32}
inputs:
  image: {shape: [3, h, w]}
model:
  layers:
    - {name: conv, conv2d: {out_channels: 4, kernel_size: 3, padding: 1}}
    - {name: pool, adaptive_avg_pool2d: {output_size: 3}}
    - flatten
    - {name: fc, linear: {out_features: 2}}
"""


def test_success_exits_0_with_one_json_object_on_stdout(tmp_path):
    out = tmp_path / "lenet.onnx"
    result = run_cli("export", "specs/lenet5.yaml", "--onnx", "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # nothing else on stdout (the exporter's progress is kept off it)
    assert data["ok"] is True
    (entry,) = data["exports"]
    assert entry["path"] == str(out) and entry["verified"] is True and entry["opset"] == 18
    assert entry["dynamic_axes"] == {"image": {"0": "batch"}}
    runs = entry["verification"]["runs"]
    assert sorted(r["batch"] for r in runs) == [1, 3]
    assert all(o["max_abs"] <= 1e-4 for r in runs for o in r["outputs"])
    assert "Traceback" not in result.stderr and out.is_file()


def test_a_verification_failure_exits_1_prints_the_errors_and_keeps_the_file_aside(tmp_path):
    out = tmp_path / "lenet.onnx"
    result = run_cli("export", "specs/lenet5.yaml", "-o", str(out), "--atol", "1e-12")
    assert result.returncode == 1, result.stderr
    assert "NOT verified" in result.stdout and " NO" in result.stdout  # the table: max abs / rel per output
    assert "onnxruntime differs from PyTorch on output 'logits'" in result.stderr
    assert "--atol" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and (tmp_path / "lenet.unverified.onnx").is_file()


def test_an_unexportable_spec_exits_1_with_a_located_diagnostic(write_spec, tmp_path):
    spec = write_spec(POOL_SPEC)
    result = run_cli("export", str(spec), "-o", str(tmp_path / "p.onnx"))
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{spec}:8:7: model.layers[1] (adaptive_avg_pool2d 'pool'): cannot keep the height and width dynamic")
    assert "hint: export with those axes fixed (e.g. `--dynamic batch`)" in result.stderr
    assert result.stdout == "" and not (tmp_path / "p.onnx").exists()


def test_an_operator_without_onnx_mapping_exits_1_at_its_layer(write_spec, tmp_path):
    spec = write_spec("netspec: 1\ninputs:\n  x: {shape: [6]}\nmodel:\n  layers:\n"
                      "    - {name: fc, linear: {out_features: 5}}\n    - {name: running, cummax: {}}\n")
    result = run_cli("--plugin", "cummax_plugin", "export", str(spec), "-o", str(tmp_path / "c.onnx"),
                     env={"PYTHONPATH": str(PLUGINS)})
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[0] == (f"{spec}:7:7: model.layers[1] (cummax 'running'): "
                                             "the operator aten.cummax has no ONNX mapping at opset 18")
    assert "hint: try a newer opset" in result.stderr


@pytest.mark.parametrize("args,needle", [
    (["--opset", "99"], "--opset"),
    (["--onnx", "--format", "safetensors"], "exclude each other"),
    (["--format", "tflite"], "--format"),
])
def test_usage_errors_exit_2(args, needle):
    result = runner.invoke(app, ["export", str(SPECS / "lenet5.yaml"), *args])
    assert result.exit_code == 2 and needle in result.output


@pytest.mark.parametrize("args,message", [
    (["--model", "generatr"], "no model named 'generatr'"),
    (["--dynamic", "batch,sq"], "no axis named 'sq' (did you mean 'seq'?)"),
])
def test_unknown_models_and_axes_exit_1(args, message):
    spec = SPECS / ("dcgan.yaml" if "--model" in args else "char_rnn.yaml")
    result = runner.invoke(app, ["export", str(spec), *args])
    assert result.exit_code == 1 and message in result.output


def test_the_spec_export_section_is_used_and_the_command_line_wins(write_spec, tmp_path):
    base = (SPECS / "char_rnn.yaml").read_text(encoding="utf-8").replace("dims: {seq: 100}", "dims: {seq: 10}")
    spec = write_spec(base + "export:\n  onnx:\n    opset: 17\n    dynamic: [batch]\n"
                             "    verify: {atol: 1.0e-5, batch_sizes: [1, 4]}\n")
    (done,) = export_spec(spec, out=tmp_path / "a.onnx")
    assert done.opset == 17 and done.dynamic_axes == {"chars": {0: "batch"}}
    assert [r.batch for r in done.report.runs] == [1, 4] and done.report.atol == 1e-5
    (done,) = export_spec(spec, out=tmp_path / "b.onnx", opset=18, dynamic=["batch", "seq"], verify=False)
    assert done.opset == 18 and done.dynamic_axes == {"chars": {0: "batch", 1: "seq"}} and done.report is None
    dims = onnx.load(str(tmp_path / "b.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ["batch", "seq"]


def test_a_misspelt_export_section_fails_validate_at_its_place(write_spec):
    base = (SPECS / "char_rnn.yaml").read_text(encoding="utf-8")
    spec = write_spec(base + "export:\n  onnx:\n    dynamic: [batch, sequence]\n")
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 1
    line = len(base.splitlines()) + 3
    assert f"{spec}:{line}:22: export.onnx.dynamic[1]: no axis named 'sequence'; the axes are: batch, seq" in result.output


def test_several_models_give_one_file_each_and_metadata_names_them(tmp_path):
    done = export_spec(SPECS / "vae.yaml", out=tmp_path)
    assert sorted(d.path.name for d in done) == ["vae-decoder.onnx", "vae-encoder.onnx"]
    text = (tmp_path / "vae-decoder.onnx")
    meta = parse({p.key: p.value for p in onnx.load(str(text)).metadata_props})
    assert meta["model"] == "decoder" and meta["weights"]["state"] == "initialized"
    assert meta["spec_sha256"] == spec_hash(meta["spec"])
    (one,) = export_spec(SPECS / "vae.yaml", out=tmp_path / "g.onnx", models=["decoder"])
    assert one.path == tmp_path / "g.onnx"


def test_safetensors_weights_rebuild_the_same_model(tmp_path):
    result = run_cli("export", "specs/resnet_mini.yaml", "--format", "safetensors", "-o", str(tmp_path / "w.safetensors"))
    assert result.returncode == 0, result.stderr
    weights, spec_file = tmp_path / "w.safetensors", tmp_path / "w.yaml"
    assert weights.is_file() and spec_file.is_file()
    header = read_header(weights)
    assert parse(header)["spec_sha256"] == spec_hash(spec_file.read_text(encoding="utf-8"))
    original = compile_model(check(SPECS / "resnet_mini.yaml").graph, seed=0).eval()
    rebuilt = load_weights(compile_model(check(spec_file).graph, seed=1), weights).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(original(x), rebuilt(x))
