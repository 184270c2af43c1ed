"""Specs are data: known YAML code-execution payloads run nothing and come back as located errors;
layers come only from plugins the user names; a spec's paths are inputs read relative to it, and
a run writes only inside its run directory. (Checkpoint loading: test_checkpoint_safety.py.)"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SPECS, run_cli
from fuzz_specs import run_cli_in_process

MLP = (SPECS / "mlp.yaml").read_text()

# each payload, if a loader ever constructed it, would create MARKER
PAYLOADS = {
    "object_apply": "netspec: 1\nname: !!python/object/apply:os.system ['touch MARKER']\n",
    "object_apply_flow": "netspec: 1\nmodel: {layers: [!!python/object/apply:os.system ['touch MARKER']]}\n",
    "object_new": "netspec: 1\nname: !!python/object/new:subprocess.check_call [['touch', 'MARKER']]\n",
    "object_new_map": "netspec: 1\nx: !!python/object/new:subprocess.Popen {args: [['touch', 'MARKER']]}\n",
    "object_state": "netspec: 1\nx: !!python/object:subprocess.Popen {args: [touch, MARKER]}\n",
    "name": "netspec: 1\nx: !!python/name:os.system\n",
    "module": "netspec: 1\nx: !!python/module:os\n",
    "tuple": "netspec: 1\nx: !!python/tuple [1, 2]\n",
    "key_tag": "netspec: 1\n? !!python/object/apply:os.system ['touch MARKER']\n: 1\n",
    "key_tag_flow": "netspec: 1\nx: {!!python/object/apply:os.system ['touch MARKER']: 1}\n",
    "merge_tag": "netspec: 1\nx:\n  <<: !!python/object/apply:os.system ['touch MARKER']\n  a: 1\n",
    "merge_of_tagged": "base: &b {a: !!python/object/apply:os.system ['touch MARKER']}\nx: {<<: *b}\nnetspec: 1\n",
    "tag_directive": "%TAG !p! tag:yaml.org,2002:python/\n---\nnetspec: 1\nx: !p!object/apply:os.system ['touch MARKER']\n",
    "verbatim_tag": "netspec: 1\nx: !<tag:yaml.org,2002:python/object/apply:os.system> ['touch MARKER']\n",
    "local_tag": "netspec: 1\nx: !Popen ['touch MARKER']\n",
    "anchored_payload": "netspec: 1\nx: &p !!python/object/apply:os.system ['touch MARKER']\ny: *p\n",
    "in_layer_params": MLP.replace("{out_features: 128, activation: relu}",
                                  "{out_features: !!python/object/apply:os.system ['touch MARKER']}"),
    "binary": "netspec: 1\nx: !!binary dG91Y2ggTUFSS0VS\n",
}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_yaml_payloads_run_nothing_and_are_located(tmp_path, name):
    marker = tmp_path / "MARKER"
    spec = tmp_path / "spec.yaml"
    spec.write_text(PAYLOADS[name].replace("MARKER", str(marker)))
    code, out, err, _ = run_cli_in_process(["validate", str(spec)])
    assert code == 1, out + err
    assert re.search(rf"^{re.escape(str(spec))}:\d+:\d+: .*tag", err, re.M), err
    assert "specs are plain data: remove the tag" in err
    assert not marker.exists()


def test_payloads_in_a_base_spec_and_on_the_command_line_run_nothing(tmp_path):
    marker = tmp_path / "MARKER"
    (tmp_path / "base.yaml").write_text(PAYLOADS["object_apply"].replace("MARKER", str(marker)))
    spec = tmp_path / "spec.yaml"
    spec.write_text("extends: base.yaml\n" + MLP.split("netspec: 1\n", 1)[1])
    code, _, err, _ = run_cli_in_process(["validate", str(spec)])
    assert code == 1 and f"{tmp_path / 'base.yaml'}:2:7: " in err
    code, _, err, _ = run_cli_in_process(["validate", str(SPECS / "mlp.yaml"), "--set",
                                          f"name=!!python/object/apply:os.system ['touch {marker}']"])
    assert code == 1 and "<command line>:1:6: YAML tag" in err
    assert not marker.exists()


def test_the_package_has_no_unsafe_loader_eval_or_pickle():
    """The only YAML entry is netspec.source's composer; nothing evaluates or unpickles."""
    unsafe = re.compile(r"yaml\.(load|unsafe_load|full_load|load_all)\(|Loader=yaml\.(Loader|FullLoader|UnsafeLoader)"
                        r"|(?<![.\w])(eval|exec)\(|pickle\.loads?\(|weights_only\s*=\s*False|entry_points\(")
    hits = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in sorted((ROOT / "netspec").rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1) if unsafe.search(line)]
    assert hits == []
    loads = [f"{p.relative_to(ROOT)}:{i}" for p in sorted((ROOT / "netspec").rglob("*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1)
             if "torch.load(" in line and "weights_only=True" not in line]
    assert loads == []


UNKNOWN = """netspec: 1
inputs: {x: {shape: [4]}}
model:
  layers:
    - linear: {out_features: 4}
    - os: {}
    - {name: b, subprocess.run: {}}
    - cummax_plugin
    - {name: c, tests.plugins.cummax_layer: {}}
    - {name: d, cummax: {dim: 1}}
"""


def test_a_spec_naming_unknown_layers_imports_nothing(tmp_path):
    """In a fresh interpreter: validating the spec adds no module to sys.modules beyond what
    validating a plain spec does."""
    spec = tmp_path / "unknown.yaml"
    spec.write_text(UNKNOWN)
    plain = tmp_path / "plain.yaml"
    plain.write_text(UNKNOWN.split("    - os: {}")[0])
    code = ("import sys, netspec.cli.app as app\n"
            "def run(p):\n    try:\n        app.main(['validate', p])\n    except SystemExit as e:\n        return e.code\n"
            "run(sys.argv[2]); before = set(sys.modules)\n"
            "c = run(sys.argv[1]); print('EXIT', c); print('NEW', sorted(set(sys.modules) - before))\n")
    env = {"PYTHONPATH": str(ROOT / "tests" / "plugins") + ":" + str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code, str(spec), str(plain)], capture_output=True, text=True, cwd=ROOT,
                          env={**__import__("os").environ, **env}, timeout=120)
    assert "EXIT 1" in proc.stdout, proc.stdout + proc.stderr
    assert "NEW []" in proc.stdout, proc.stdout
    for line, tag in ((6, "os"), (7, "subprocess.run"), (8, "cummax_plugin"), (9, "tests.plugins.cummax_layer"), (10, "cummax")):
        assert f"{spec}:{line}:" in proc.stderr and f"unknown layer type {tag!r}" in proc.stderr


def test_custom_layers_only_from_an_explicit_plugin(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("netspec: 1\ninputs: {x: {shape: [4]}}\nmodel: {layers: [cummax]}\n")
    env = {"PYTHONPATH": str(ROOT / "tests" / "plugins")}
    assert run_cli("validate", str(spec), env=env).returncode == 1
    proc = run_cli("--plugin", "cummax_plugin", "validate", str(spec), env=env)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('plugin bug')\n")
    (tmp_path / "twice_plugin.py").write_text("import cummax_plugin, importlib\nimportlib.reload(cummax_plugin)\n")
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT / 'tests' / 'plugins'}"}
    for plugin, message in (("no_such_plugin", "cannot import plugin 'no_such_plugin'"),
                            ("broken_plugin", "RuntimeError: plugin bug"),
                            ("twice_plugin", "RegistryError: layer 'cummax' is registered twice")):
        proc = run_cli("--plugin", plugin, "validate", str(spec), env=env)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr


# ---- paths ---------------------------------------------------------------------------------------

TRAIN = """netspec: 1
name: NAME
inputs: {x: {shape: [2]}}
model: {layers: [{name: logits, linear: {out_features: 2}}]}
data: {source: {type: csv, path: DATA, target: y}, split: {val: 0.25, seed: 0}}
train: {epochs: 1, batch_size: 8}
"""


def _csv(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a,b,y\n" + "".join(f"{i * 0.1:.1f},{i % 5},{i % 2}\n" for i in range(24)))
    path.chmod(0o444)  # inputs are read-only to netspec
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_data_paths_resolve_against_the_spec_file_and_stay_untouched(tmp_path):
    """Relative (also with ..) and absolute data paths; run from another working directory."""
    digest = _csv(tmp_path / "shared" / "d.csv")
    work = tmp_path / "elsewhere"
    work.mkdir()
    for i, data in enumerate(("../shared/d.csv", str(tmp_path / "shared" / "d.csv"))):
        spec = tmp_path / "specs" / f"s{i}.yaml"
        spec.parent.mkdir(exist_ok=True)
        spec.write_text(TRAIN.replace("NAME", f"s{i}").replace("DATA", data))
        proc = run_cli("train", str(spec), "--out", str(tmp_path / f"run{i}"), "--quiet", cwd=work)
        assert proc.returncode == 0, proc.stderr
    assert hashlib.sha256((tmp_path / "shared" / "d.csv").read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["d.csv"]
    assert list(work.iterdir()) == []  # --out given: nothing in the working directory


def test_a_spec_name_cannot_put_a_run_or_an_export_outside(tmp_path):
    _csv(tmp_path / "d.csv")
    spec = tmp_path / "s.yaml"
    spec.write_text(TRAIN.replace("NAME", "'../../escape/x'").replace("DATA", "d.csv"))
    work = tmp_path / "work"
    work.mkdir()
    proc = run_cli("train", str(spec), "--quiet", "--json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    runs = list((work / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("escape_x-")
    assert not (tmp_path / "escape").exists() and sorted(p.name for p in work.iterdir()) == ["runs"]
    proc = run_cli("export", str(spec), "--checkpoint", str(runs[0]), cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert (work / "escape_x.onnx").is_file() and not (tmp_path / "escape").exists()


def test_a_symlink_planted_in_the_run_directory_is_refused(tmp_path):
    _csv(tmp_path / "d.csv")
    spec = tmp_path / "s.yaml"
    spec.write_text(TRAIN.replace("NAME", "s").replace("DATA", "d.csv"))
    run = tmp_path / "run"
    assert run_cli("train", str(spec), "--out", str(run), "--quiet").returncode == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (run / "metrics.jsonl").unlink()
    (run / "metrics.jsonl").symlink_to(victim)
    for args in (("--out", str(run), "--overwrite"), ("--resume", str(run), "--epochs", "2")):  # (--out alone: refused)
        proc = run_cli("train", str(spec), *args, "--quiet")
        assert proc.returncode == 1, proc.stderr
        assert "holds a symlink, metrics.jsonl ->" in proc.stderr and "Traceback" not in proc.stderr
    assert victim.read_text() == "precious\n"
    linked = tmp_path / "linked"  # the run directory itself may be a symlink (runs on another disk)
    linked.symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "real").mkdir()
    assert run_cli("train", str(spec), "--out", str(linked), "--quiet").returncode == 0
    assert (tmp_path / "real" / "last.pt").is_file()
