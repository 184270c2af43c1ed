"""The compiler against hand-written torch modules, and initialization against its definitions."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from conftest import SPECS
from netspec.check import check
from netspec.compiler import compile_model
from netspec.errors import SpecError


class LeNet5(nn.Module):
    """LeNet-5 as one writes it by hand in PyTorch."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.s2 = nn.AvgPool2d(2, 2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.s4 = nn.AvgPool2d(2, 2)
        self.f5 = nn.Linear(400, 120)
        self.f6 = nn.Linear(120, 84)
        self.logits = nn.Linear(84, 10)

    def forward(self, x):
        x = self.s2(torch.tanh(self.c1(x)))
        x = self.s4(torch.tanh(self.c3(x)))
        x = torch.flatten(x, 1)
        x = torch.tanh(self.f5(x))
        x = torch.tanh(self.f6(x))
        return self.logits(x)


def compiled(path, seed=0, overrides=()):
    return compile_model(check(path, overrides).graph, seed=seed)


def test_lenet_matches_a_hand_written_module():
    model = compiled(SPECS / "lenet5.yaml").eval()
    ref = LeNet5().eval()
    ref.load_state_dict(model.state_dict())  # same names, same shapes
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(model(x), ref(x))
    assert sum(p.numel() for p in model.parameters()) == 61706


def test_same_seed_same_weights_and_rng_untouched():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = compiled(SPECS / "resnet_mini.yaml", seed=7), compiled(SPECS / "resnet_mini.yaml", seed=7)
    assert torch.rand(1).item() == before.item()  # compile_model(seed=...) does not consume the global RNG
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    c = compiled(SPECS / "resnet_mini.yaml", seed=8)
    assert not torch.equal(a.state_dict()["stem.conv.weight"], c.state_dict()["stem.conv.weight"])


def test_block_hierarchy_names_modules():
    model = compiled(SPECS / "resnet_mini.yaml")
    assert isinstance(model.stage2[0].a.conv, nn.Conv2d)
    assert model.stage2[0].a.conv.stride == (2, 2)
    assert "stage2.0.skip.0.weight" in model.state_dict()


def test_inputs_by_name_or_position_and_several_outputs(write_spec):
    path = write_spec("""netspec: 1
inputs: {a: {shape: [3]}, b: {shape: [3]}}
model:
  layers:
    - {name: s, add: {}, inputs: [a, b]}
    - {name: p, multiply: {}, inputs: [a, b]}
  outputs: [p, s]
""")
    model = compiled(path)
    a, b = torch.randn(2, 3), torch.randn(2, 3)
    p, s = model(a, b)
    assert torch.equal(p, a * b) and torch.equal(s, a + b)
    p2, s2 = model(b=b, a=a)
    assert torch.equal(p2, p) and torch.equal(s2, s)
    assert set(model.outputs_dict(model(a, b))) == {"p", "s"}
    with pytest.raises(TypeError, match="expected 2 input"):
        model(a)


def test_shared_block_runs_the_same_weights(write_spec):
    path = write_spec("""netspec: 1
inputs: {a: {shape: [5]}, b: {shape: [5]}}
blocks:
  tower:
    layers:
      - {name: fc, linear: {out_features: 3, activation: relu}}
model:
  layers:
    - {name: ta, tower: {}, inputs: [a]}
    - {name: tb, share: ta, inputs: [b]}
  outputs: [ta, tb]
""")
    model = compiled(path)
    x = torch.randn(2, 5)
    ya, yb = model(x, x)
    assert torch.equal(ya, yb)
    assert sum(p.numel() for p in model.parameters()) == 5 * 3 + 3
    assert not hasattr(model, "tb")


def test_torch_compile_gives_the_same_outputs():
    model = compiled(SPECS / "mlp.yaml").eval()
    x = torch.randn(3, 64)
    assert torch.allclose(torch.compile(model)(x), model(x), atol=1e-6)


def init_model(write_spec, init_yaml: str, layer: str = "linear: {out_features: 256}", shape: str = "[512]"):
    path = write_spec(f"""netspec: 1
inputs: {{x: {{shape: {shape}}}}}
model:
  layers:
    - {{name: l, {layer}, init: {init_yaml}}}
""")
    return compiled(path, seed=0).l


def test_biases_default_to_zero_and_inits_apply(write_spec):
    layer = init_model(write_spec, "{weight: {type: constant, value: 0.5}}")
    assert torch.all(layer.weight == 0.5) and torch.all(layer.bias == 0)
    layer = init_model(write_spec, "{weight: zeros, bias: {type: constant, value: 2}}")
    assert torch.all(layer.weight == 0) and torch.all(layer.bias == 2)


@pytest.mark.parametrize("init,check_fn", [
    ("{type: normal, mean: 1.0, std: 0.1}", lambda w: abs(w.mean() - 1.0) < 0.01 and abs(w.std() - 0.1) < 0.01),
    ("{type: uniform, a: -0.2, b: 0.3}", lambda w: w.min() >= -0.2 and w.max() <= 0.3 and w.max() > 0.29),
    ("{type: truncated_normal, std: 1.0, a: -0.5, b: 0.5}", lambda w: w.abs().max() <= 0.5),
    ("xavier_uniform", lambda w: w.abs().max() <= math.sqrt(6 / (512 + 256)) and w.abs().max() > 0.95 * math.sqrt(6 / 768)),
    ("{type: xavier_normal, gain: tanh}", lambda w: abs(w.std() - (5 / 3) * math.sqrt(2 / 768)) < 0.005),
    ("{type: kaiming_normal, nonlinearity: relu}", lambda w: abs(w.std() - math.sqrt(2 / 512)) < 0.003),
    ("{type: kaiming_normal, mode: fan_out, nonlinearity: relu}", lambda w: abs(w.std() - math.sqrt(2 / 256)) < 0.004),
    ("{type: kaiming_uniform, nonlinearity: relu}", lambda w: w.abs().max() <= math.sqrt(6 / 512)),
    ("lecun_normal", lambda w: abs(w.std() - math.sqrt(1 / 512)) < 0.002),
    ("lecun_uniform", lambda w: w.abs().max() <= math.sqrt(3 / 512) and w.abs().max() > 0.95 * math.sqrt(3 / 512)),
    ("{type: orthogonal, gain: 2.0}", lambda w: torch.allclose(w @ w.T, 4 * torch.eye(256), atol=1e-4)),
    ("ones", lambda w: bool(torch.all(w == 1))),
])
def test_initializers(write_spec, init, check_fn):
    w = init_model(write_spec, "{weight: " + init + "}").weight.detach()
    assert check_fn(w)


def test_node_init_overrides_type_defaults_and_globs(write_spec):
    path = write_spec("""netspec: 1
inputs: {x: {shape: [8]}}
model:
  init: {linear: {weight: ones, "b*": {type: constant, value: 3}}}
  layers:
    - {name: a, linear: {out_features: 4}}
    - {name: b, linear: {out_features: 4}, init: {weight: zeros}}
""")
    model = compiled(path)
    assert torch.all(model.a.weight == 1) and torch.all(model.a.bias == 3)
    assert torch.all(model.b.weight == 0) and torch.all(model.b.bias == 3)


def test_init_that_cannot_apply_is_a_located_error(write_spec):
    with pytest.raises(SpecError) as info:
        init_model(write_spec, '{"*": xavier_uniform}')
    assert info.value.path == ("model", "layers", 0, "init", "*")
    assert "l.bias" in info.value.message


def test_activation_option_is_a_child_module(write_spec):
    layer = init_model(write_spec, "{}", layer="linear: {out_features: 4, activation: {prelu: {init: 0.1}}}", shape="[3]")
    assert isinstance(layer.activation, nn.PReLU) and torch.allclose(layer.activation.weight, torch.tensor([0.1]))
