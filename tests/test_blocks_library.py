"""The shipped block libraries (netspec/blocks/*.yaml): every block is well formed and used, the
small ones behave as their definitions say, and errors inside them are located in the shipped file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

import netspec.graph
from conftest import ROOT, SPECS
from netspec.blocks import LIBRARY_DIR, BlockTable, library
from netspec.check import check
from netspec.compiler import compile_model
from netspec.diagnostics import diagnose
from netspec.errors import NetspecError
from netspec.graph.blocks import check_definition

#: blocks no zoo spec uses, each in a small spec: (input shape, layer item)
EXAMPLES = {
    "depthwise_conv": ([6, 9, 9], "{name: dw, depthwise_conv: {channels: 6, stride: 2}}"),
    "separable_conv": ([6, 8, 8], "{name: sep, separable_conv: {channels: 6, out: 10, kernel_size: 5, padding: 2}}"),
    "depthwise_separable": ([8, 8, 8], "{name: unit, depthwise_separable: {channels: 8, out: 16, stride: 2}}"),
}


def small_spec(write_spec, shape, item: str, name: str = "spec.yaml"):
    return write_spec(f"netspec: 1\ninputs:\n  x: {{shape: {shape}}}\nmodel:\n  layers:\n    - {item}\n", name)


@pytest.mark.parametrize("name", sorted(library()))
def test_shipped_block_is_well_formed(name):
    block, raw, _ = library()[name]
    assert check_definition(name, block, raw, ("blocks", name)) == []
    assert block.description, f"shipped block {name!r} has no description"
    for arg, spec in block.args.items():
        assert spec.description, f"argument {arg!r} of shipped block {name!r} has no description"


class _Recording(BlockTable):
    used_anywhere: set[str] = set()

    def __getitem__(self, name):
        out = super().__getitem__(name)
        if name not in self.own:
            _Recording.used_anywhere.add(name)
        return out


def _used_in_tests(names) -> set[str]:
    """Blocks written as a layer (``name:`` key) in a test module or a test spec."""
    texts = [p.read_text(encoding="utf-8") for pattern in ("*.py", "*.yaml")
             for p in (ROOT / "tests").rglob(pattern) if p.name != Path(__file__).name]
    return {n for n in names if any(re.search(rf"(?<![\w.]){re.escape(n)}\s*:", t) for t in texts)}


def test_every_shipped_block_is_used_by_a_spec_or_a_test(monkeypatch):
    """Used by a spec under specs/ (expanded, nested uses included), an example above, or a test."""
    monkeypatch.setattr(netspec.graph, "BlockTable", _Recording)
    _Recording.used_anywhere = set()
    for path in sorted(SPECS.glob("*.yaml")):
        check(path)
    unused = set(library()) - _Recording.used_anywhere - set(EXAMPLES)
    unused -= _used_in_tests(unused)
    assert not unused, f"use these shipped blocks in a spec under specs/ or in a test: {sorted(unused)}"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_block_example_runs_and_matches_its_summary(name, write_spec):
    shape, item = EXAMPLES[name]
    graph = check(small_spec(write_spec, shape, item)).graph
    assert any(re.search(rf"in block '{name}'", text) for n in graph.nodes for _, text in n.notes)
    model = compile_model(graph, seed=0).eval()
    assert sum(p.numel() for p in model.parameters()) == graph.params
    with torch.no_grad():
        out = model(torch.randn(2, *shape))
    assert tuple(out.shape[1:]) == tuple(next(iter(graph.output_types().values())).shape)


def test_depthwise_conv_filters_each_channel_alone(write_spec):
    graph = check(small_spec(write_spec, [4, 7, 7], "{name: dw, depthwise_conv: {channels: 4, kernel_size: 3}}")).graph
    model = compile_model(graph, seed=0).eval()
    conv = model.get_submodule("dw.conv")
    assert tuple(conv.weight.shape) == (4, 1, 3, 3) and conv.groups == 4 and conv.bias is None
    x = torch.randn(1, 4, 7, 7)
    y = x.clone()
    y[:, 1:] = torch.randn(1, 3, 7, 7)  # change every channel but the first
    with torch.no_grad():
        assert torch.equal(model(x)[:, 0], model(y)[:, 0])
        assert not torch.equal(model(x)[:, 1], model(y)[:, 1])


def test_separable_conv_costs_depthwise_plus_pointwise(write_spec):
    graph = check(small_spec(write_spec, *EXAMPLES["separable_conv"])).graph
    assert graph.params == 6 * 5 * 5 + 6 * 10  # a full 5x5 convolution would need 6*10*25
    assert tuple(graph.output_types()["sep"].shape) == (10, 8, 8)


def test_basic_block_keeps_the_identity_shortcut_when_the_shape_is_kept(write_spec):
    same = check(small_spec(write_spec, [8, 6, 6], "{name: b, basic_block: {out: 8}}")).graph
    down = check(small_spec(write_spec, [8, 6, 6], "{name: b, basic_block: {out: 16, stride: 2}}", "down.yaml")).graph
    assert same.node("b.downsample").params == 0
    assert down.node("b.downsample").params == 8 * 16 + 2 * 16
    assert tuple(down.output_types()["b"].shape) == (16, 3, 3)


def test_a_spec_block_of_the_same_name_wins(write_spec):
    text = ("netspec: 1\ninputs:\n  x: {shape: [3, 8, 8]}\nblocks:\n  basic_block:\n    args: {out: int}\n"
            "    layers:\n      - {name: only, conv2d: {out_channels: '${out}', kernel_size: 1}}\n"
            "model:\n  layers:\n    - {name: b, basic_block: {out: 4}}\n")
    graph = check(write_spec(text)).graph
    assert [n.name for n in graph.nodes] == ["b.only"]


def _diagnostics(path):
    with pytest.raises(NetspecError) as info:
        check(path)
    return diagnose(info.value, info.value.source, str(path))


def _line_of(path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def test_shape_error_inside_a_shipped_block_is_located_in_the_shipped_file(write_spec):
    spec = small_spec(write_spec, [16], "{name: res, basic_block: {out: 16}}")
    diags = _diagnostics(spec)
    first = diags[0]
    resnet = LIBRARY_DIR / "resnet.yaml"
    assert first.file == str(resnet)
    assert first.line == _line_of(resnet, "{name: conv1, conv2d:")
    assert "expects (C, H, W), got (16,)" in first.message
    assert "res.conv1" in first.path
    assert len(first.notes) == 1
    assert first.notes[0].startswith(f"{spec}:6:7: model.layers[0]: in block 'basic_block' used here")


def test_nested_shipped_blocks_note_every_use(write_spec):
    """An error two blocks deep (conv_bn_act inside inverted_bottleneck inside inverted_residual)."""
    spec = small_spec(write_spec, [4], "{name: ir, inverted_residual: {out: 4, hidden: 6}}")
    hit = _diagnostics(spec)[0]
    assert "expects (C, H, W), got (4,)" in hit.message and "ir.conv.expand.conv" in hit.path
    assert (hit.file, hit.line) == (str(LIBRARY_DIR / "conv.yaml"), _line_of(LIBRARY_DIR / "conv.yaml", "{name: conv, conv2d:"))
    uses = [n.split(": ", 2)[2] for n in hit.notes]
    assert uses == ["in block 'conv_bn_act' used here", "in block 'inverted_bottleneck' used here",
                    "in block 'inverted_residual' used here"]
    assert hit.notes[-1].startswith(f"{spec}:6:7:")
    assert hit.notes[0].startswith(str(LIBRARY_DIR / "mobilenet.yaml"))


def test_a_bad_argument_value_is_located_at_the_use(write_spec):
    spec = small_spec(write_spec, [3, 8, 8], "{name: res, basic_block: {out: 0}}")
    diags = _diagnostics(spec)
    assert [(d.file, d.line) for d in diags] == [(str(spec), 6)]
    assert diags[0].path == "model.layers[0].basic_block.out"
    assert "positive" in diags[0].message


def test_library_files_live_in_the_package():
    files = sorted(p.name for p in LIBRARY_DIR.glob("*.yaml"))
    assert {"conv.yaml", "resnet.yaml", "inception.yaml", "densenet.yaml", "mobilenet.yaml", "vgg.yaml",
            "unet.yaml"} <= set(files)
    assert LIBRARY_DIR == ROOT / "netspec" / "blocks"
