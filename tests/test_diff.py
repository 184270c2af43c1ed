"""`netspec diff` (semantic architecture diff) and the summary extras (receptive field, activation
memory, training-memory estimate), against published numbers and measurements in torch."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import SPECS, run_cli
from netspec.check import check
from netspec.compiler import compile_model
from netspec.diff import diff_specs, is_same
from netspec.summary_extras import activation_bytes, receptive_fields, training_memory


def test_resnet18_to_resnet50_delta_params():
    proc = run_cli("diff", str(SPECS / "resnet18.yaml"), str(SPECS / "resnet50.yaml"), "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["params"] == [11_689_512, 25_557_032] and d["delta_params"] == 25_557_032 - 11_689_512
    fa, fb = check(SPECS / "resnet18.yaml").graph.flops, check(SPECS / "resnet50.yaml").graph.flops
    assert d["delta_flops"] == fb - fa
    m = d["models"]["model"]
    added = {n["name"] for n in m["added"]}
    assert {"layer1.0.conv3", "layer1.0.bn3", "layer3.5.conv1"} <= added and "layer1.0.conv3" not in {n["name"] for n in m["removed"]}
    changed = {n["name"]: n["changes"] for n in m["changed"]}
    assert changed["layer1.0.conv1"]["param.kernel_size"] == [3, 1]
    assert changed["fc"]["params"] == [513_000, 2_049_000]
    text = run_cli("diff", str(SPECS / "resnet18.yaml"), str(SPECS / "resnet50.yaml")).stdout
    assert "Δ +13,867,520" in text and "+ layer1.0.conv3  conv2d  (256, 56, 56)  16,384 params" in text


LENET = (SPECS / "lenet5.yaml").read_text()


def test_node_level_changes(write_spec):
    a = write_spec(LENET, "a.yaml")
    b = write_spec(LENET.replace("out_features: 120", "out_features: 64")
                   .replace("    - {name: f6,", "    - {name: drop, dropout: {p: 0.5}}\n    - {name: f6,")
                   .replace("max_params: 61706", "max_params: 99999999"), "b.yaml")
    d = diff_specs(check(a), check(b))
    m = d["models"]["model"]
    assert [n["name"] for n in m["added"]] == ["drop"] and m["removed"] == []
    changed = {n["name"]: n["changes"] for n in m["changed"]}
    assert changed["f5"]["param.out_features"] == [120, 64] and changed["f5"]["output_shape"] == [[120], [64]]
    assert changed["f6"]["inputs"] == [["f5"], ["drop"]] and changed["f6"]["params"] == [120 * 84 + 84, 64 * 84 + 84]
    assert d["delta_params"] == check(b).graph.params - check(a).graph.params
    assert not is_same(d) and is_same(diff_specs(check(a), check(a)))
    assert run_cli("diff", str(a), str(a), "--exit-code").returncode == 0
    assert run_cli("diff", str(a), str(b), "--exit-code").returncode == 4


def test_diff_of_an_invalid_spec_exits_1(write_spec):
    bad = write_spec(LENET.replace("kernel_size: 5, padding: 2", "kernel_size: 50"), "bad.yaml")
    proc = run_cli("diff", str(SPECS / "lenet5.yaml"), str(bad))
    assert proc.returncode == 1 and f"{bad}:" in proc.stderr


# ---- receptive fields -----------------------------------------------------------------------------

@pytest.mark.parametrize("spec,node,rf", [
    ("resnet18", "layer4.1.conv2", 435),  # the commonly cited ResNet-18 receptive field
    ("vgg16", "stage5.conv.2", 196), ("vgg16", "stage5.pool", 212),  # conv5_3, pool5
    ("alexnet", "conv5", 163), ("alexnet", "pool5", 195),
])
def test_receptive_fields_match_published_values(spec, node, rf):
    assert receptive_fields(check(SPECS / f"{spec}.yaml").graph)[node] == (rf, rf)


RF_SPEC = """netspec: 1
inputs: {x: {shape: [1, 64, 64]}}
model:
  layers:
    - {name: c1, conv2d: {out_channels: 2, kernel_size: 3, padding: 1}}
    - {name: p1, avg_pool2d: {kernel_size: 2}}  # (max pooling routes the gradient to one input)
    - {name: c2, conv2d: {out_channels: 2, kernel_size: [5, 3], dilation: 2, padding: [4, 2]}}
    - {name: c3, conv2d: {out_channels: 2, kernel_size: 3, stride: 2, padding: 1}}
    - {name: up, conv_transpose2d: {out_channels: 2, kernel_size: 2, stride: 2}}
    - {name: c4, conv2d: {out_channels: 1, kernel_size: 3, padding: 1}}
"""


def measured_rf(model, node: str, shape) -> tuple[int, ...]:
    """Extent of input pixels whose gradient reaches the centre output of ``node`` (the real RF)."""
    torch.manual_seed(0)
    for p in model.parameters():
        torch.nn.init.uniform_(p, 0.5, 1.0)  # positive weights: no accidental cancellation
    x = torch.ones(1, *shape, requires_grad=True)
    out = {}
    getattr(model, node).register_forward_hook(lambda m, i, o: out.__setitem__("y", o))
    model.eval()(x)
    y = out["y"]
    centre = tuple(s // 2 for s in y.shape[2:])
    y[(0, 0, *centre)].backward()
    support = (x.grad[0, 0] != 0).nonzero()
    return tuple(int(support[:, a].max() - support[:, a].min() + 1) for a in range(support.shape[1]))


def test_receptive_fields_equal_gradient_support(write_spec):
    graph = check(write_spec(RF_SPEC)).graph
    fields = receptive_fields(graph)
    assert set(fields) == {"c1", "p1", "c2", "c3", "up", "c4"}
    model = compile_model(graph)
    for node in ("c1", "p1", "c2", "c3", "up", "c4"):
        assert measured_rf(model, node, (1, 64, 64)) == fields[node], node
    assert fields["c2"] == (4 + 4 * 2 * 2, 4 + 2 * 2 * 2)  # p1 (4×4, jump 2) + (k−1)·d·jump
    assert fields["up"] == fields["c3"]  # kernel 2, stride 2: each output sees one input
    assert fields["c4"] == (fields["c3"][0] + 4, fields["c3"][1] + 4)  # 3 outputs at jump 2 span 2 inputs at jump 4


# ---- memory ---------------------------------------------------------------------------------------

def test_activation_bytes_equal_forward_outputs():
    graph = check(SPECS / "lenet5.yaml").graph
    model = compile_model(graph).eval()
    sizes = {}
    for name in activation_bytes(graph):
        getattr(model, name).register_forward_hook(lambda m, i, o, n=name: sizes.__setitem__(n, o.nbytes // 3))
    model(torch.zeros(3, 1, 28, 28))
    assert sizes == activation_bytes(graph)


def test_training_memory_against_a_real_step():
    """Weights, gradients and Adam state equal the tensors after one step; activations are within 2×
    of what autograd saves for backward."""
    graph = check(SPECS / "lenet5.yaml").graph
    est = training_memory(graph, 16)
    model = compile_model(graph)
    opt = torch.optim.Adam(model.parameters())
    saved = {}

    def pack(t):
        saved[(t.untyped_storage().data_ptr(), t.dtype)] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(torch.randn(16, 1, 28, 28)).logsumexp(1).mean()
    loss.backward()
    opt.step()
    params = sum(p.nbytes for p in model.parameters())
    assert est["weights"] == params and est["gradients"] == sum(p.grad.nbytes for p in model.parameters())
    state = sum(v.nbytes for s in opt.state.values() for k, v in s.items() if k in ("exp_avg", "exp_avg_sq"))
    assert est["optimizer_state"] == state
    assert 0.5 <= est["activations"] / sum(saved.values()) <= 2.0
    assert est["total"] == sum(v for k, v in est.items() if k != "total")


def test_summary_cli_shows_extras():
    proc = run_cli("summary", str(SPECS / "lenet5.yaml"), "--json", "--batch-size", "64")
    data = json.loads(proc.stdout)
    nodes = {n["name"]: n for n in data["nodes"]}
    assert nodes["c1"]["receptive_field"] == [5, 5] and nodes["s4"]["receptive_field"] == [16, 16]
    assert "receptive_field" not in nodes["f5"] and nodes["f5"]["activation_bytes"] == 120 * 4
    mem = data["training_memory"]
    assert mem["batch_size"] == 64 and mem["models"]["model"]["weights"] == 61_706 * 4
    text = run_cli("summary", str(SPECS / "lenet5.yaml"), "--batch-size", "64").stdout
    assert "training memory estimate" in text and "16×16" in text
