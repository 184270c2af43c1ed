"""The CNN zoo: published parameter counts, forward passes at reduced input sizes, and ResNet-18
parity with a hand-written torch ResNet-18 (torchvision's layout and names)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from conftest import SPECS, run_cli
from netspec.check import check
from netspec.compiler import compile_model
from netspec.graph import concrete_inputs
from small_specs import small

#: torchvision's published counts (1000 classes, 3x224x224)
PUBLISHED = {
    "alexnet": 61_100_840,
    "vgg11": 132_863_336,
    "vgg16": 138_357_544,
    "googlenet": 6_624_904,
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "densenet121": 7_978_856,
    "mobilenet_v2": 3_504_872,
}

#: every CNN zoo spec (run at the small sizes of tests/small_specs.py)
CNN = ["alexnet", "cgan", "dcgan", "densenet121", "fcn", "googlenet", "mobilenet_v2", "resnet18", "resnet50", "unet", "vgg11",
       "vgg16", "zfnet"]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_parameter_count(name):
    checked = check(SPECS / f"{name}.yaml")
    assert checked.graph.params == PUBLISHED[name]
    assert [list(t.shape) for t in checked.graph.output_types().values()] == [[1000]]


def test_summary_json_reports_the_published_count():
    result = run_cli("summary", "specs/resnet50.yaml", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["params"] == PUBLISHED["resnet50"]
    assert data["outputs"] == {"fc": [1000]}


def test_the_paper_kernel_changes_googlenet_by_the_torchvision_quirk():
    """The third inception branch with the paper's 5x5 kernel instead of torchvision's 3x3."""
    base = check(SPECS / "googlenet.yaml").graph.params
    one = check(SPECS / "googlenet.yaml", ["model.layers[5].inception.large_kernel=5"]).graph.params
    # inception3a's third branch: 32 filters over 16 channels, 5x5 instead of 3x3
    assert one - base == 32 * 16 * (25 - 9)


def _random_inputs(graph, batch=2):
    xs = []
    for t in concrete_inputs(graph).values():
        shape = (batch,) + tuple(t.shape)
        xs.append(torch.randint(0, 10, shape) if t.dtype == "int64" else torch.randn(shape))
    return xs


def _recorder(seen: dict, name: str):
    def hook(_module, _inputs, out) -> None:
        seen[name] = [tuple(o.shape[1:]) for o in (out if isinstance(out, tuple) else (out,))]
    return hook


@pytest.mark.parametrize("name", CNN)
def test_forward_pass_matches_the_summary(name):
    """Every node's real output shape equals the shape the summary states, at a small input size."""
    checked = check(SPECS / f"{name}.yaml", small(name))
    assert checked.graphs
    for graph in checked.graphs.values():
        model = compile_model(graph, seed=0).eval()
        seen: dict[str, list] = {}
        for node in graph.nodes:
            if not node.share:
                model.get_submodule(node.name).register_forward_hook(_recorder(seen, node.name))
        with torch.no_grad():
            out = model(*_random_inputs(graph))
        outs = out if isinstance(out, tuple) else (out,)
        want = [tuple(t.shape) for t in graph.output_types().values()]
        assert [tuple(o.shape[1:]) for o in outs] == want
        assert all(torch.isfinite(o).all() for o in outs)
        for node in graph.nodes:
            if not node.share:
                assert seen[node.name] == [tuple(t.shape) for t in node.out_types], node.name


# ---- ResNet-18 parity ------------------------------------------------------------------------------

class BasicBlock(nn.Module):
    """torchvision's BasicBlock, written out."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """torchvision's resnet18, written out (torchvision is not a dependency)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def test_resnet18_matches_a_hand_written_torch_resnet18():
    torch.manual_seed(0)
    reference = ResNet18()
    with torch.no_grad():  # non-trivial batch-norm statistics and affines
        for module in reference.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
    reference.eval()

    graph = check(SPECS / "resnet18.yaml", small("resnet18")).graph
    model = compile_model(graph, seed=1).eval()
    ours, theirs = model.state_dict(), reference.state_dict()
    assert set(ours) == set(theirs), "state-dict names differ from torchvision's"
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in theirs.items()}
    model.load_state_dict(theirs, strict=True)

    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        got, want = model(x), reference(x)
    assert got.shape == (2, 1000)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-6), (got - want).abs().max()
