"""Every spec in specs/ exports to ONNX and verifies in onnxruntime against PyTorch.

Specs whose default input is large run at a reduced input size; weight-heavy ones run as a
narrower or shallower variant of the same architecture — the same layer types and wiring — in the
default suite, and at their real widths in the ``slow`` suite (both from tests/small_specs.py). A
spec added to specs/ is picked up automatically.
"""

from __future__ import annotations

import pytest

from conftest import SPECS
from export_helpers import assert_verified
from netspec.check import check
from netspec.export import export_spec
from small_specs import NARROW, narrow, small

NAMES = sorted(p.stem for p in SPECS.glob("*.yaml"))


def _export_and_check(name: str, overrides: list[str], tmp_path) -> None:
    checked = check(SPECS / f"{name}.yaml", overrides)
    done = export_spec(SPECS / f"{name}.yaml", overrides, out=tmp_path / f"{name}.onnx")
    assert_verified(done, checked)
    assert {d.model for d in done} == set(checked.graphs)  # one file per model


@pytest.mark.parametrize("name", NAMES)
def test_spec_exports_and_verifies(name, tmp_path):
    _export_and_check(name, narrow(name), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NARROW))
def test_full_size_spec_exports_and_verifies(name, tmp_path):
    """The narrowed specs at their real widths and depths (reduced input sizes only)."""
    _export_and_check(name, small(name), tmp_path)


def test_reduced_variants_keep_the_architecture():
    """A reduced variant has the same layer types in the same order as the shipped spec."""
    assert set(NARROW) <= set(NAMES)
    for name in NARROW:
        full = check(SPECS / f"{name}.yaml", small(name))
        reduced = check(SPECS / f"{name}.yaml", narrow(name))
        kinds = {g: sorted({n.layer.tag for n in graph.nodes}) for g, graph in full.graphs.items()}
        assert kinds == {g: sorted({n.layer.tag for n in graph.nodes}) for g, graph in reduced.graphs.items()}, name
        assert sum(g.params for g in reduced.graphs.values()) < sum(g.params for g in full.graphs.values())
