"""The first second of `netspec train`: it says what it is doing before torch is imported (which takes
seconds on a loaded machine), stage by stage, and says nothing of it with --quiet or --json."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from conftest import ROOT

SPEC = ROOT / "examples" / "digits_mlp.yaml"


def _train(tmp_path, *flags: str, importtime: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NETSPEC_DEBUG"}
    python = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "netspec"]
    return subprocess.run([*python, "train", str(SPEC), "--epochs", "1", "--out", str(tmp_path / "run"), *flags],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_the_stages_come_first_and_the_first_before_torch(tmp_path):
    proc = _train(tmp_path, importtime=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("netspec: training"))
    torch_at = next(i for i, line in enumerate(lines) if re.match(r"import time:.*\|\s+torch$", line))
    assert first < torch_at, "the first line must come before torch is imported"
    ours = [line for line in lines if not line.startswith("import time:")]
    assert ours[0] == f"netspec: training {SPEC}"
    assert ours[1] == "netspec: loading the data (sklearn digits)"
    assert ours[2].startswith("netspec: data: 1,438 train, 359 val samples; building the model (50,826 parameters) on cpu")
    assert ours[3].startswith("epoch 1/1  train.loss ")


def test_quiet_and_json_print_no_stage(tmp_path):
    quiet = _train(tmp_path, "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr[-1000:]
    as_json = _train(tmp_path, "--json", "--overwrite")
    assert as_json.returncode == 0 and as_json.stderr == "", as_json.stderr[-1000:]
    assert json.loads(as_json.stdout)["epochs"] == 1
