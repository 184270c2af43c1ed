"""docs/reference/ is generated from the registry and the spec models (python -m netspec.docs_gen)
and kept current: a page per layer, loss, optimizer, schedule and metric, none stale or extra."""

from __future__ import annotations

import subprocess
import sys

from conftest import EXAMPLES, ROOT
from netspec.docs_gen import DOCS, _members, _tag, pages, stale
from netspec.layers import all_layers
from netspec.metrics import METRICS
from netspec.spec import train as T


def test_reference_pages_are_current():
    assert stale() == [], "docs/reference is stale: run `python -m netspec.docs_gen`"


def test_a_page_for_everything_users_can_name():
    names = set(pages())
    assert {f"layers/{t}.md" for t in all_layers()} <= names
    for folder, union in (("losses", T.Loss), ("optimizers", T.Optimizer), ("schedules", T.Schedule)):
        assert {f"{folder}/{_tag(c)}.md" for c in _members(union)} <= names
    assert {f"metrics/{m}.md" for m in METRICS.tags()} <= names
    conv = pages()["layers/conv2d.md"]
    assert "(C, H, W) → (out_channels, H', W')" in conv and "| `padding_mode` |" in conv and "`zeros`" in conv
    assert "- conv2d: {" in conv  # an example
    adamw = pages()["optimizers/adamw.md"]
    assert "| `weight_decay` | float ≥ 0 | `0.01` |" in adamw


def test_check_mode_fails_on_a_stale_page(tmp_path):
    from netspec.docs_gen import write

    write(tmp_path)
    assert stale(tmp_path) == []
    (tmp_path / "layers" / "relu.md").write_text("edited\n")
    (tmp_path / "layers" / "gone.md").write_text("old\n")
    assert stale(tmp_path) == ["layers/gone.md", "layers/relu.md"]
    proc = subprocess.run([sys.executable, "-m", "netspec.docs_gen", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_guide_has_a_tutorial_per_example():
    guide = ROOT / "docs" / "guide"
    text = "\n".join(p.read_text(encoding="utf-8") for p in guide.glob("*.md"))
    for example in ("digits_mlp", "digits_cnn", "diabetes_regression"):
        assert (EXAMPLES / f"{example}.yaml").is_file()
        assert f"netspec train examples/{example}.yaml" in text, example
    for link in ("../reference/index.md",):
        assert link in (guide / "README.md").read_text(encoding="utf-8")
    assert DOCS.is_dir()
