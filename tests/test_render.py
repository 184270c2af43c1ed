"""`netspec render`: the canonical form is a valid spec that builds the very same model."""

from __future__ import annotations

import pytest
import torch

from conftest import SPECS
from netspec.check import check
from netspec.compiler import compile_model
from netspec.inputs import random_inputs
from netspec.render import canonical, to_yaml


@pytest.mark.parametrize("name", ["mlp", "lenet5", "resnet_mini"])
def test_rendered_spec_builds_the_same_model(name, tmp_path):
    original = check(SPECS / f"{name}.yaml")
    path = tmp_path / "rendered.yaml"
    path.write_text(to_yaml(canonical(original)))
    rendered = check(path)
    assert not rendered.spec.blocks
    a = compile_model(original.graph, seed=3).eval()
    b = compile_model(rendered.graph, seed=3).eval()
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    x = random_inputs(original.graph, batch=3)
    with torch.no_grad():
        assert torch.equal(a(**x), b(**x))
    assert rendered.graph.params == original.graph.params and rendered.graph.flops == original.graph.flops


def test_render_writes_every_parameter_and_effective_init():
    data = canonical(check(SPECS / "lenet5.yaml"))
    first = data["model"]["layers"][0]
    assert first["name"] == "c1" and first["inputs"] == ["image"]
    assert first["conv2d"]["stride"] == 1 and first["conv2d"]["activation"] == "tanh"
    assert first["init"] == {"weight": {"type": "xavier_uniform", "gain": 1.0}}
    assert data["model"]["outputs"] == ["logits"]
