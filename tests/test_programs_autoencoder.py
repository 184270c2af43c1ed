"""The autoencoder program: noise reaches the model's input and never the target, no noise at
evaluation, sparsity penalties against their formulas on the named node, GraphModule's
forward_capture, the example's stated quality (and its denoising and sparse variants), located
validation errors."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from conftest import EXAMPLES
from generative_helpers import digits_arrays, problems, session_for
from netspec.train.api import train_spec

AE = EXAMPLES / "digits_autoencoder.yaml"


class Spy(torch.nn.Module):
    """Records what the model is called with."""

    def __init__(self, model):
        super().__init__()
        self.model, self.seen = model, []
        self.input_names, self.output_names = model.input_names, model.output_names

    def forward(self, *xs):
        self.seen.append(xs[0].detach().clone())
        return self.model(*xs)


def _spied(overrides):
    s = session_for(AE, overrides)
    spy = Spy(s.models["model"])
    s.program.model = spy
    batch = next(iter(s.data.loaders["train"].epoch(s.generator)))
    return s, spy, batch


@pytest.mark.parametrize("noise", ["{type: masking, p: 0.3}", "{type: gaussian, std: 0.5}"])
def test_noise_corrupts_the_input_and_never_the_target(noise):
    s, spy, batch = _spied((f"train.program.noise={noise}",))
    clean = batch["image"].clone()
    before = copy.deepcopy(spy.model)  # the weights the step's loss was computed with
    loss = s.program.train_step(batch, s.updater)
    seen = spy.seen[-1]
    assert torch.equal(batch["image"], clean)  # the batch (and so the target) is untouched
    if "masking" in noise:
        masked = seen != clean
        assert torch.all(seen[masked] == 0)  # masked values become 0, the others stay as they were
        share = float((seen == 0).float().mean() - (clean == 0).float().mean()) / float((clean != 0).float().mean())
        assert share == pytest.approx(0.3, abs=0.05)
    else:
        assert float((seen - clean).std()) == pytest.approx(0.5, rel=0.05)
    # the loss compares the reconstruction of the corrupted input with the clean one
    with torch.no_grad():
        ref = F.binary_cross_entropy(before(seen), clean)
    assert float(loss) == pytest.approx(float(ref), rel=1e-5)
    spy.seen.clear()
    s.program.eval_step(batch)
    assert torch.equal(spy.seen[-1], clean)  # no corruption at evaluation


def _hidden(model, x):
    """The 96 sigmoid units of the example, computed from the compiled layers directly."""
    return torch.sigmoid(model.hidden(x.flatten(1)))


@pytest.mark.parametrize("sparsity", ["{type: kl, node: hidden, rho: 0.05, weight: 0.5}", "{type: l1, node: hidden, weight: 0.01}"])
def test_sparsity_penalty_follows_its_formula_on_the_named_node(sparsity):
    s = session_for(AE, (f"train.program.sparsity={sparsity}",))
    batch = next(iter(s.data.loaders["val"].epoch()))
    x, model = batch["image"], s.models["model"].eval()
    loss = s.program.eval_step(batch)
    with torch.no_grad():
        a = _hidden(model, x)
        if "kl" in sparsity:
            r = a.mean(0)
            penalty = 0.5 * float((0.05 * torch.log(0.05 / r) + 0.95 * torch.log(0.95 / (1 - r))).sum())
        else:
            penalty = 0.01 * float(a.abs().sum(1).mean())
        rec = float(F.binary_cross_entropy(model(x), x))
    assert float(loss) == pytest.approx(rec + penalty, rel=1e-5)
    logged = s.program.metrics["eval"].compute()
    assert logged["sparsity"] == pytest.approx(penalty, rel=1e-5)
    assert logged["mean_activation"] == pytest.approx(float(a.mean()), rel=1e-5)
    assert "mse" in logged and "mae" in logged  # the supervised metrics are still there


def test_forward_capture_returns_inner_nodes_with_gradients():
    s = session_for(AE)
    model = s.models["model"]
    x = torch.rand(3, 1, 8, 8)
    out, nodes = model.forward_capture(["hidden", "code"], x)
    assert torch.equal(out, model(x))
    assert torch.allclose(nodes["hidden"], _hidden(model, x))
    assert torch.allclose(nodes["code"], model.code(nodes["hidden"]))
    nodes["code"].sum().backward()
    assert model.hidden.weight.grad is not None and model.dec.weight.grad is None
    with pytest.raises(KeyError, match="no node 'hiden'"):
        model.forward_capture(["hiden"], x)


def test_example_and_its_variants_reach_the_stated_quality(tmp_path):
    """Shorter runs (20 of 60 epochs) than the example: the plain autoencoder's val.mse is less than
    half of always predicting the mean training digit; the denoising variant (inputs masked while
    training) still reconstructs clean digits well below that baseline; the sparse variant brings
    the hidden units' mean activation from ≈ 0.5 to within 0.02 of rho = 0.05."""
    train, val = digits_arrays(AE, "train")["image"], digits_arrays(AE, "val")["image"]
    baseline = float(((val - train.mean(0)) ** 2).mean())
    plain = train_spec(AE, ["train.epochs=20"], out=tmp_path / "ae").history
    assert plain[-1]["val.mse"] < 0.5 * baseline and plain[-1]["val.mse"] < plain[0]["val.mse"]
    dae = train_spec(AE, ["train.epochs=20", "train.program.noise={type: masking, p: 0.3}"], out=tmp_path / "dae").history
    assert dae[-1]["val.mse"] < 0.6 * baseline
    kl = "train.program.sparsity={type: kl, node: hidden, rho: 0.05, weight: 0.02}"
    sae = train_spec(AE, ["train.epochs=20", kl], out=tmp_path / "sae").history
    assert abs(sae[-1]["val.mean_activation"] - 0.05) < 0.02
    free = session_for(AE, (kl,))  # the same units before training
    x = torch.as_tensor(val)
    with torch.no_grad():
        assert float(_hidden(free.models["model"], x).mean()) > 0.3


@pytest.mark.slow
def test_full_example_beats_pca_with_the_same_code_size(tmp_path):
    from sklearn.decomposition import PCA

    train, val = (digits_arrays(AE, s)["image"].reshape(-1, 64) for s in ("train", "val"))
    pca = PCA(12).fit(train)
    pca_mse = float(((val - pca.inverse_transform(pca.transform(val))) ** 2).mean())
    result = train_spec(AE, out=tmp_path / "ae")
    assert result.history[-1]["val.mse"] < pca_mse


@pytest.mark.parametrize("override, path, fragment", [
    ("train.program.sparsity={type: kl, node: hiden}", ("train", "program", "sparsity", "node"), "not a node"),
    ("train.task=classification", ("train", "task"), "reconstructs its input"),
    ("train.loss=cross_entropy", ("train", "loss", 0, "type"), "does not fit the task"),
])
def test_autoencoder_settings_are_checked_by_validate(write_spec, override, path, fragment):
    from netspec.check import check
    from netspec.errors import NetspecError

    with pytest.raises(NetspecError) as info:
        check(AE, [override])
    found = [(e.path, e.message, e.hint) for e in getattr(info.value, "errors", [info.value])]
    assert any(p == path and fragment in m for p, m, _ in found), found
    if "hiden" in override:
        assert found[0][2] == "did you mean 'hidden'?"


def test_reconstruction_shape_must_match_the_input(write_spec):
    text = AE.read_text(encoding="utf-8").replace("    - {name: reconstruction, reshape: {shape: [1, 8, 8]}}",
                                                  "    - {name: reconstruction, reshape: {shape: [64]}}")
    found = problems(write_spec(text))
    assert found == [(("model", "layers", 5), "reconstruction 'reconstruction' has shape (64,), but input 'image' has (1, 8, 8)")]


def test_kl_sparsity_on_units_outside_0_1_is_a_warning():
    from netspec.check import check

    warnings = check(AE, ["train.program.sparsity={type: kl, node: code}"]).warnings
    assert [w.path for w in warnings] == [("train", "program", "sparsity", "node")]
    assert not check(AE, ["train.program.sparsity={type: kl, node: hidden}"]).warnings
