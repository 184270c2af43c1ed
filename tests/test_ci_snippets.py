"""The documented CI integration is true as written: the pre-commit snippet in README.md and the
guide, .pre-commit-hooks.yaml and examples/ci/netspec.yml name commands that exist, files that the
build produces and no PyPI name that belongs to another project. (pre-commit itself and the
workflow's steps were run by hand; see docs/guide/05-editors-and-ci.md.)"""

from __future__ import annotations

import re
import shlex
import sys

import pytest
import yaml

from conftest import ROOT, SPECS, run_cli
from netspec.distribution import DISTRIBUTION

tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
WHEEL = f"{DISTRIBUTION.replace('-', '_')}-{PROJECT['version']}-py3-none-any.whl"
DOCS = (ROOT / "README.md", ROOT / "docs" / "guide" / "05-editors-and-ci.md")


def precommit_snippet(path) -> str:
    return re.search(r"```yaml\n(# \.pre-commit-config\.yaml\n.*?)```", path.read_text(encoding="utf-8"), re.S).group(1)


def netspec_args(entry: str) -> list[str]:
    words = shlex.split(entry)
    assert words[0] == "netspec", entry
    return words[1:]


def test_the_precommit_snippet_is_a_local_hook_that_validates(tmp_path):
    readme, guide = (precommit_snippet(p) for p in DOCS)
    assert readme == guide
    config = yaml.safe_load(readme)
    [repo] = config["repos"]
    [hook] = repo["hooks"]
    assert repo["repo"] == "local" and "rev" not in repo and hook["language"] == "system"
    assert re.search(hook["files"], "specs/lenet5.yaml") and not re.search(hook["files"], "examples/ci/netspec.yml")
    args = netspec_args(hook["entry"])
    assert run_cli(*args, str(SPECS / "lenet5.yaml")).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("netspec: 1\ninputs: {x: {shape: [4]}}\nmodel: {layers: [{linear: {out_featres: 3}}]}\n")
    proc = run_cli(*args, str(SPECS / "lenet5.yaml"), str(bad))  # pre-commit passes several files
    assert proc.returncode == 1 and f"{bad}:3:" in proc.stderr and "did you mean 'out_features'?" in proc.stderr


def test_the_hooks_manifest_runs_real_commands():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [h["id"] for h in hooks] == ["netspec-validate", "netspec-validate-strict"]
    for hook in hooks:
        assert hook["language"] == "python" and hook["types"] == ["yaml"]
        proc = run_cli(*netspec_args(hook["entry"]), str(SPECS / "mlp.yaml"))
        assert proc.returncode == 0, proc.stderr


def test_the_workflow_installs_what_exists():
    text = (ROOT / "examples" / "ci" / "netspec.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    steps = workflow["jobs"]["validate"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert not re.search(r"pip install\s+['\"]?netspec\b(?![-_]torch)", runs), "'netspec' on PyPI is another project"
    assert workflow["env"]["NETSPEC"] == f"tools/{WHEEL}"
    assert 'python -m pip install "$NETSPEC"' in runs
    torch_req = next(r for r in PROJECT["dependencies"] if r.startswith("torch"))
    assert f'python -m pip install "{torch_req}" --index-url https://download.pytorch.org/whl/cpu' in runs
    assert "netspec validate specs/ --strict --format github" in runs
    for doc in (*DOCS, ROOT / "examples" / "ci" / "netspec.yml"):
        for name in re.findall(r"netspec_torch-[\w.]+?-py3-none-any\.whl", doc.read_text(encoding="utf-8")):
            assert name == WHEEL, f"{doc.name} names {name}, the build gives {WHEEL}"
