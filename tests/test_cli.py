"""The core CLI: exit codes, output formats, and that no traceback reaches a user."""

from __future__ import annotations

import json
import sys

from typer.testing import CliRunner

from conftest import BAD, ROOT, SPECS, run_cli
from netspec.cli.app import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_validate_directory_exits_0_with_a_line_per_spec():
    result = invoke("validate", str(SPECS))
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(sorted(SPECS.glob("*.yaml")))
    assert all(line.startswith("ok   ") for line in lines)


def test_validate_mixed_exits_1_and_reports_each():
    result = invoke("validate", str(SPECS / "mlp.yaml"), str(BAD / "shapes.yaml"))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("ok ")
    assert result.stdout.splitlines()[1].startswith("FAIL ")


def test_validate_json_and_github_formats():
    result = invoke("validate", "--format", "json", str(SPECS / "lenet5.yaml"), str(BAD / "duplicate_key.yaml"))
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    good, bad = data["specs"]
    assert good["valid"] and good["params"] == 61706
    assert bad["diagnostics"][0]["line"] == 7 and bad["diagnostics"][0]["col"] == 3
    result = invoke("validate", "--format", "github", str(BAD / "duplicate_key.yaml"))
    assert f"::error file={BAD / 'duplicate_key.yaml'},line=7,col=3::" in result.stdout


def test_usage_errors_exit_2():
    assert invoke("validate", "no/such/file.yaml").exit_code == 2
    assert invoke("validate", "--format", "xml", str(SPECS)).exit_code == 2
    assert invoke("summary").exit_code == 2
    assert invoke("layers", "lineer").exit_code == 2
    assert invoke("frobnicate").exit_code == 2


def test_summary_json_reports_lenet_params():
    result = invoke("summary", str(SPECS / "lenet5.yaml"), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["params"] == 61706 and data["trainable_params"] == 61706
    assert data["outputs"] == {"logits": [10]}
    assert [n["name"] for n in data["nodes"]][:2] == ["c1", "s2"]
    assert data["nodes"][0] == {"name": "c1", "type": "conv2d", "inputs": ["image"], "output_shape": [6, 28, 28],
                                "params": 156, "flops": 2 * 25 * 6 * 28 * 28 + 6 * 28 * 28,
                                "activation_bytes": 6 * 28 * 28 * 4, "receptive_field": [5, 5]}  # summary extras


def test_summary_table_and_set_override():
    result = invoke("summary", str(SPECS / "mlp.yaml"), "--set", "model.layers[0].linear.out_features=32")
    assert result.exit_code == 0
    assert "hidden1" in result.stdout and "(32,)" in result.stdout and "total" in result.stdout


def test_summary_of_an_invalid_spec_exits_1_with_diagnostics():
    result = invoke("summary", str(BAD / "shapes.yaml"))
    assert result.exit_code == 1
    assert "shapes.yaml:8:7" in result.stderr


def test_layers_lists_and_describes():
    result = invoke("layers")
    assert result.exit_code == 0 and "conv2d" in result.stdout and "→" in result.stdout
    result = invoke("layers", "conv2d", "--json")
    doc = json.loads(result.stdout)
    names = [p["name"] for p in doc["params"]]
    assert names[:3] == ["out_channels", "kernel_size", "stride"] and "in_channels" not in names
    assert doc["params"][0]["required"] and doc["contract"].startswith("(C, H, W) →")


def test_layers_lists_and_describes_the_shipped_blocks():
    import yaml

    from netspec.blocks import LIBRARY_DIR

    shipped = {}  # the block libraries as written: name -> (file, args)
    for path in sorted(LIBRARY_DIR.glob("*.yaml")):
        for name, block in yaml.safe_load(path.read_text(encoding="utf-8"))["blocks"].items():
            shipped[name] = (path.stem, block.get("args", {}))
    listing = json.loads(invoke("layers", "--json").stdout)
    assert {d["type"] for d in listing["layers"]} >= {"conv2d", "linear"}
    assert {b["type"]: b["library"] for b in listing["blocks"]} == {n: f for n, (f, _) in shipped.items()}
    for b in listing["blocks"]:
        written = shipped[b["type"]][1]
        assert [a["name"] for a in b["args"]] == list(written)
        for a in b["args"]:
            w = written[a["name"]]
            assert a["required"] == (isinstance(w, dict) and "default" not in w)
            if not a["required"]:
                assert a["default"] == w["default"], (b["type"], a["name"])
    text = invoke("layers").stdout
    assert all(name in text for name in shipped) and "out: int, stride: int = 1" in text
    result = invoke("layers", "basic_block")
    assert result.exit_code == 0
    assert "basic_block (shipped block, netspec/blocks/resnet.yaml:" in result.stdout
    assert "- {name: NAME, basic_block: {out: <int>}}" in result.stdout and "stride" in result.stdout
    doc = json.loads(invoke("layers", "unet_up", "--json").stdout)
    assert doc["inputs"] == ["x", "skip"] and doc["example"] == "- {name: NAME, unet_up: {out: <int>}, inputs: [<x>, <skip>]}"
    result = invoke("layers", "basic_blok")
    assert result.exit_code == 2 and "did you mean 'basic_block'?" in result.stderr


def test_the_block_usage_example_validates(write_spec):
    doc = json.loads(invoke("layers", "conv_bn_act", "--json").stdout)
    item = doc["example"].replace("NAME", "stem").replace("<int>", "8")
    spec = write_spec(f"netspec: 1\ninputs:\n  x: {{shape: [3, 8, 8]}}\nmodel:\n  layers:\n    {item}\n")
    result = invoke("validate", str(spec))
    assert result.exit_code == 0, result.stderr


def test_schema_is_valid_json_schema_and_accepts_every_spec():
    import jsonschema
    import yaml

    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(SPECS.glob("*.yaml")):
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert not errors, f"{path.name}: {errors[0].message}"
    assert "linear" in schema["$defs"]["LayerItem"]["anyOf"][0]["enum"]
    assert not validator.is_valid({"netspec": 1, "modle": {}})


def test_render_output_is_a_valid_equivalent_spec(tmp_path):
    result = invoke("render", str(SPECS / "resnet_mini.yaml"))
    assert result.exit_code == 0
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(result.stdout)
    again = invoke("render", str(rendered))
    assert again.exit_code == 0 and again.stdout == result.stdout  # canonical form is a fixed point


def test_debug_shows_a_traceback_and_default_does_not(write_spec):
    path = write_spec("netspec: 1\ninputs: {x: {shape: [4]}}\nmodel: {layers: [{linear: {out_features: 0}}]}\n")
    plain = run_cli("validate", str(path))
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    debug = run_cli("--debug", "validate", str(path))
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_python_dash_m_and_console_script_agree():
    result = run_cli("validate", "specs/mlp.yaml")
    assert result.returncode == 0 and result.stdout.startswith("ok   specs/mlp.yaml")


def test_validate_does_not_import_torch():
    code = ("import sys\nfrom netspec.cli.app import main\n"
            "try:\n    main(['validate', 'specs'])\nexcept SystemExit as e:\n    code = e.code\n"
            "print('torch' in sys.modules, code)")
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "False 0", out.stdout + out.stderr
