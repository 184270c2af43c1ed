"""Golden bad specs: the exact diagnostics (file:line:col, path, message, hint) of `netspec validate`.

Each tests/specs/bad/NAME.yaml has NAME.expected with the exact stderr. To update after an
intended change of wording: `netspec validate tests/specs/bad/NAME.yaml 2> tests/specs/bad/NAME.expected`,
then read the diff.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from conftest import BAD, ROOT
from netspec.cli.app import app

CASES = sorted(BAD.glob("*.yaml"))


@pytest.mark.parametrize("spec", CASES, ids=[p.stem for p in CASES])
def test_golden_diagnostics(spec, monkeypatch):
    monkeypatch.chdir(ROOT)
    rel = spec.relative_to(ROOT)
    result = CliRunner().invoke(app, ["validate", str(rel)])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"FAIL {rel}: ")
    expected = spec.with_suffix(".expected").read_text(encoding="utf-8")
    assert result.stderr == expected


def test_the_six_problems_are_each_reported_once_and_located():
    text = (BAD / "six_problems.expected").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("  ")]
    assert len(lines) == 6
    located = [line.split(": ", 1)[0] for line in lines]
    assert located == [
        "tests/specs/bad/six_problems.yaml:8:3",     # misspelt key (descripton)
        "tests/specs/bad/six_problems.yaml:11:37",   # cycle, at the inputs that close it
        "tests/specs/bad/six_problems.yaml:13:7",    # linear fed (4, 8, 8)
        "tests/specs/bad/six_problems.yaml:14:33",   # wrong type (p: high)
        "tests/specs/bad/six_problems.yaml:15:20",   # unknown layer type (lineer)
        "tests/specs/bad/six_problems.yaml:16:56",   # dangling reference (hed)
    ]
