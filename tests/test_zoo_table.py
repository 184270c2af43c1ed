"""docs/zoo.md is generated from the specs (python -m netspec.zoo > docs/zoo.md) and kept current."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, SPECS
from netspec.check import check
from netspec.zoo import entries, reference, render

DOC = ROOT / "docs" / "zoo.md"


def test_docs_zoo_md_is_current():
    assert DOC.read_text(encoding="utf-8") == render(entries(SPECS)), (
        "docs/zoo.md is stale: run `python -m netspec.zoo > docs/zoo.md`")


def test_every_spec_has_a_row_with_numbers_from_the_spec():
    rows = {e.file: e for e in entries(SPECS)}
    assert set(rows) == {p.name for p in SPECS.glob("*.yaml")}
    for path in SPECS.glob("*.yaml"):
        graphs = check(path).graphs
        assert rows[path.name].params == sum(g.params for g in graphs.values())
        assert rows[path.name].flops == sum(g.flops for g in graphs.values())
        assert rows[path.name].reference, f"{path.name} has no header comment naming its paper"


def test_a_changed_spec_changes_the_table(tmp_path):
    spec = (SPECS / "resnet18.yaml").read_text(encoding="utf-8")
    spec = spec.replace("out_features: 1000", "out_features: 10").replace("fc: [1000]", "fc: [10]")
    (tmp_path / "resnet18.yaml").write_text(spec, encoding="utf-8")
    (row,) = entries(tmp_path)
    assert row.params == 11_689_512 - 512 * 990 - 990
    assert f"{row.params:,}" in render([row])


def test_reference_is_the_first_citation_of_the_header():
    text = '# VGG-16 (Simonyan & Zisserman, 2014, "Very deep ...", configuration D) for images. More.\n# x\nnetspec: 1\n'
    assert reference(text) == 'VGG-16 (Simonyan & Zisserman, 2014, "Very deep ...", configuration D)'
    assert reference("# A plain model: two layers.\nnetspec: 1\n") == "A plain model"
    assert reference("# Nested (a (b) c) d.\n") == "Nested (a (b) c)"


def test_module_entry_prints_the_table():
    result = subprocess.run([sys.executable, "-m", "netspec.zoo"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == DOC.read_text(encoding="utf-8")
