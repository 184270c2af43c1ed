"""Every command's failure paths with their exact exit codes, through the real entry point:
0 ok, 1 a user error (located diagnostics), 2 a usage error, 3 an internal error (one line and a
hint, never a traceback), 4 `diff --exit-code` on a difference, 130 an interrupt."""

from __future__ import annotations

import pytest

from conftest import BAD, EXAMPLES, SPECS
from fuzz_specs import run_cli_in_process

MLP, SHAPES = str(SPECS / "mlp.yaml"), str(BAD / "shapes.yaml")
DIGITS, LM, VAE = str(EXAMPLES / "digits_mlp.yaml"), str(EXAMPLES / "char_lm_stdlib.yaml"), str(EXAMPLES / "digits_vae.yaml")
LOCATED = f"{SHAPES}:8:7: "  # the bad spec's shape error
NO_CKPT = "checkpoint not found"

CASES = [
    # command, args, exit code, expected in stderr
    ("validate", ["validate", "{tmp}/missing.yaml"], 2, "no such file or directory"),
    ("validate", ["validate", "{tmp}/empty"], 2, "no spec files found"),
    ("validate", ["validate", SHAPES], 1, LOCATED),
    ("validate", ["validate", "{tmp}/text.txt"], 1, "text.txt:1:1: a spec is a mapping"),
    ("validate", ["validate", MLP, "--set", "nokey"], 1, "<command line>:1:1: --set takes KEY=VALUE"),
    ("validate", ["validate", MLP, "--format", "xml"], 2, "Invalid value for '--format'"),
    ("summary", ["summary"], 2, "Missing argument 'spec'"),
    ("summary", ["summary", SHAPES], 1, LOCATED),
    ("summary", ["summary", MLP, "--model", "nope"], 2, "no model 'nope'"),
    ("summary", ["summary", MLP, "--batch-size", "0"], 2, "'--batch-size'"),
    ("layers", ["layers", "lineer"], 2, "no layer type or shipped block 'lineer'; did you mean 'linear'?"),
    ("layers", ["layers", "basic_blok"], 2, "no layer type or shipped block 'basic_blok'; did you mean 'basic_block'?"),
    ("layers", ["layers", "linear", "extra"], 2, "unexpected extra argument"),
    ("schema", ["schema", "extra"], 2, "unexpected extra argument"),
    ("render", ["render"], 2, "Missing argument 'spec'"),
    ("render", ["render", SHAPES], 1, LOCATED),
    ("render", ["render", "{tmp}/missing.yaml"], 1, "missing.yaml:1:1: cannot read spec"),
    ("train", ["train"], 2, "Missing argument 'spec'"),
    ("train", ["train", SHAPES], 1, LOCATED),
    ("train", ["train", MLP], 1, "the spec has no `data:` section"),
    ("train", ["train", DIGITS, "--epochs", "0"], 2, "'--epochs'"),
    ("train", ["train", DIGITS, "--resume", "{tmp}/empty"], 1, NO_CKPT),
    ("train", ["train", DIGITS, "--resume", "{tmp}/text.txt"], 1, "cannot read checkpoint"),
    ("tune", ["tune"], 2, "Missing argument 'spec'"),
    ("tune", ["tune", SHAPES], 1, LOCATED),
    ("tune", ["tune", MLP, "--trials", "0"], 2, "'--trials'"),
    ("evaluate", ["evaluate", DIGITS], 2, "Missing option '--checkpoint'"),
    ("evaluate", ["evaluate", DIGITS, "--checkpoint", "{tmp}/nope.pt"], 1, NO_CKPT),
    ("evaluate", ["evaluate", DIGITS, "--checkpoint", "{tmp}/text.txt"], 1, "cannot read checkpoint"),
    ("evaluate", ["evaluate", SHAPES, "--checkpoint", "{tmp}/nope.pt"], 1, LOCATED),
    ("predict", ["predict", DIGITS, "--output", "{tmp}/o.csv"], 2, "Missing option '--checkpoint'"),
    ("predict", ["predict", DIGITS, "--checkpoint", "{tmp}/nope.pt", "--output", "{tmp}/o.csv"], 2, "Missing option '--input'"),
    ("predict", ["predict", DIGITS, "--checkpoint", "{tmp}/nope.pt", "--input", "{tmp}/text.txt", "--output", "{tmp}/o.csv"],
     1, NO_CKPT),
    ("export", ["export", SHAPES], 1, LOCATED),
    ("export", ["export", MLP, "--format", "xml"], 2, "'--format'"),
    ("export", ["export", MLP, "--opset", "5"], 2, "'--opset'"),
    ("export", ["export", MLP, "--checkpoint", "{tmp}/nope.pt"], 1, NO_CKPT),
    ("generate", ["generate", LM], 2, "Missing option '--checkpoint'"),
    ("generate", ["generate", LM, "--prompt", "a", "--checkpoint", "{tmp}/nope.pt"], 1, NO_CKPT),
    ("generate", ["generate", MLP, "--prompt", "a", "--checkpoint", "{tmp}/nope.pt"], 1, "language_model"),
    ("sample", ["sample", VAE], 2, "Missing option '--checkpoint'"),
    ("sample", ["sample", VAE, "--checkpoint", "{tmp}/nope.pt"], 1, NO_CKPT),
    ("graph", ["graph", SHAPES], 1, LOCATED),
    ("graph", ["graph", MLP, "--direction", "XX"], 2, "'--direction'"),
    ("graph", ["graph", MLP, "--model", "nope"], 2, "no model 'nope'"),
    ("diff", ["diff", MLP], 2, "Missing argument 'b'"),
    ("diff", ["diff", MLP, SHAPES], 1, LOCATED),
    ("diff", ["diff", MLP, str(SPECS / "lenet5.yaml"), "--exit-code"], 4, ""),
    ("diff", ["diff", MLP, MLP, "--exit-code"], 0, ""),
    ("report", ["report"], 2, "Missing argument 'run_dir'"),
    ("report", ["report", "{tmp}/empty"], 1, "give the directory `netspec train` wrote"),
    ("compare", ["compare"], 2, "Missing argument"),
    ("compare", ["compare", "{tmp}/empty"], 2, "give at least two run directories"),
    ("compare", ["compare", "{tmp}/missing", "{tmp}/empty"], 1, "give the directory `netspec train` wrote"),
    ("data", ["data", "shards", "{tmp}/missing", "{tmp}/out"], 1, "netspec data shards: folder not found"),
    ("data", ["data", "shards", "{tmp}/empty", "{tmp}/out"], 1, "has no class sub-folders"),
    ("data", ["data", "shards", "{tmp}/empty", "{tmp}/out", "--shard-size", "0"], 2, "'--shard-size'"),
    ("data", ["data", "frobnicate"], 2, "No such command"),
    ("netspec", ["frobnicate"], 2, "No such command"),
    ("netspec", ["--plugin", "no_such_module_xyz", "validate", MLP], 2, "cannot import plugin"),
]

COMMANDS = ["validate", "summary", "layers", "schema", "render", "train", "tune", "evaluate", "predict", "export",
            "generate", "sample", "graph", "diff", "report", "compare"]


def test_every_command_has_failure_cases():
    from netspec.cli.app import app

    registered = sorted(c.name for c in app.registered_commands)
    assert registered == sorted(COMMANDS)
    assert {c for c, *_ in CASES} >= set(COMMANDS)
    assert all({code for c, _, code, _ in CASES if c == cmd} & {1, 2} for cmd in COMMANDS)


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "text.txt").write_text("hello\n")
    return tmp_path


@pytest.mark.parametrize("command,args,code,message", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_failure_exit_codes(scratch, command, args, code, message):
    args = [a.replace("{tmp}", str(scratch)) for a in args]
    got, out, err, _ = run_cli_in_process(args)
    assert got == code, f"{args}: exit {got}\n{out}{err}"
    assert message in err or message in out, err
    assert "Traceback" not in err and "internal error" not in err


# the library call behind each command: a bug there must end as exit 3, one line, no traceback
INTERNALS = {
    "validate": ("netspec.check", "check", ["validate", MLP]),
    "summary": ("netspec.check", "check", ["summary", MLP]),
    "render": ("netspec.check", "check", ["render", MLP]),
    "graph": ("netspec.check", "check", ["graph", MLP]),
    "diff": ("netspec.check", "check", ["diff", MLP, MLP]),
    "layers": ("netspec.docs", "layer_docs", ["layers"]),
    "schema": ("netspec.schema", "spec_schema", ["schema"]),
    "train": ("netspec.train.api", "train_spec", ["train", DIGITS]),
    "tune": ("netspec.tune.api", "tune_spec", ["tune", MLP]),
    "evaluate": ("netspec.train.api", "evaluate_checkpoint", ["evaluate", DIGITS, "--checkpoint", "x.pt"]),
    "predict": ("netspec.train.predict", "predict_file",
                ["predict", DIGITS, "--checkpoint", "x.pt", "--input", "x.csv", "--output", "o.csv"]),
    "export": ("netspec.export", "export_spec", ["export", MLP]),
    "generate": ("netspec.generate.text", "generate_text", ["generate", LM, "--checkpoint", "x.pt", "--prompt", "a"]),
    "sample": ("netspec.train.sampling", "sample_checkpoint", ["sample", VAE, "--checkpoint", "x.pt"]),
    "report": ("netspec.report", "write_report", ["report", "."]),
    "compare": ("netspec.report.compare", "compare_runs", ["compare", ".", "."]),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bug_behind_any_command_is_exit_3_without_a_traceback(monkeypatch, command):
    import importlib

    module, name, args = INTERNALS[command]

    def boom(*a, **k):
        raise RuntimeError(f"boom in {name}")

    monkeypatch.setattr(importlib.import_module(module), name, boom)
    monkeypatch.delenv("NETSPEC_DEBUG", raising=False)
    code, out, err, _ = run_cli_in_process(args)
    assert code == 3, f"{args}: exit {code}\n{out}{err}"
    lines = [line for line in err.splitlines() if not line.startswith("netspec: training")]  # train's first line
    assert lines[0] == f"netspec: internal error: RuntimeError: boom in {name}", err
    assert "hint: rerun with --debug for a traceback" in err and "Traceback" not in err


def test_debug_shows_the_traceback_and_ctrl_c_is_130(monkeypatch):
    import netspec.check

    monkeypatch.setenv("NETSPEC_DEBUG", "0")  # --debug sets it to 1; monkeypatch puts the original back
    monkeypatch.setattr(netspec.check, "check", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        run_cli_in_process(["--debug", "validate", MLP])
    monkeypatch.setenv("NETSPEC_DEBUG", "0")

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(netspec.check, "check", interrupted)
    assert run_cli_in_process(["validate", MLP])[0] == 130
