"""The gan program: one step equals a hand-written torch GAN step, d_steps honoured (also across
epochs and resumes), multi-model checkpoints resume bit for bit, every loss trains, located
validation errors, per-epoch sample grids, `netspec sample`, ONNX export of the generator, and the
quality of the digits examples judged by the digits CNN."""

from __future__ import annotations

import copy
import json

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from conftest import EXAMPLES, run_cli
from generative_helpers import Interrupt, StopAfter, draw, generator_of, problems, session_for, train_judge, untrained
from netspec.check import check
from netspec.checkpoint import load_checkpoint
from netspec.train.api import train_spec

TINY = """
netspec: 1
name: tiny-gan
models:
  generator:
    inputs:
      z: {shape: [4]}
    layers:
      - {name: fc1, linear: {out_features: 16, bias: false}}   # a bias before batch norm has no gradient
      - {name: bn1, batch_norm1d: {}}
      - relu
      - {name: fc2, linear: {out_features: 16, activation: tanh}}
      - {name: image, reshape: {shape: [1, 4, 4]}}
    outputs: [image]
  discriminator:
    inputs:
      image: {shape: [1, 4, 4]}
    layers:
      - flatten
      - {name: fc1, linear: {out_features: 8, activation: {leaky_relu: {negative_slope: 0.2}}}}
      - {name: logit, linear: {out_features: 1}}
    outputs: [logit]
data:
  source: {type: generated, kind: images, num_samples: 92, num_classes: 2, shape: [1, 4, 4], noise: 0.2}
  split: {val: 0.25, seed: 0}
train:
  program: {type: gan, d_steps: D_STEPS, loss: LOSS, samples: 9}
  epochs: 4
  batch_size: 16
  optimizers:
    generator: {type: adam, lr: 0.01, betas: [0.5, 0.999]}
    discriminator: {type: sgd, lr: 0.05, momentum: 0.5}
  deterministic: true
  seed: 0
"""


def tiny(write_spec, d_steps=1, loss="non_saturating", name="gan.yaml"):
    return write_spec(TINY.replace("D_STEPS", str(d_steps)).replace("LOSS", loss), name)


def test_each_model_gets_its_own_optimizer(write_spec):
    s = session_for(tiny(write_spec))
    g, d = s.updater.slots["generator"].optimizer, s.updater.slots["discriminator"].optimizer
    assert isinstance(g, torch.optim.Adam) and isinstance(d, torch.optim.SGD)
    assert g.param_groups[0]["lr"] == 0.01 and d.param_groups[0]["momentum"] == 0.5
    ids = lambda m: {id(p) for p in m.parameters()}  # noqa: E731
    assert {id(p) for grp in g.param_groups for p in grp["params"]} == ids(s.models["generator"])
    assert {id(p) for grp in d.param_groups for p in grp["params"]} == ids(s.models["discriminator"])


def test_one_step_equals_a_hand_written_torch_gan_step(write_spec):
    """D step (real → 1, G(z) → 0, no gradient into G), then G step (−log D(G(z)), D untouched),
    written directly with torch ops and optimizers, from the same weights and RNG state."""
    s = session_for(tiny(write_spec))
    G, D = copy.deepcopy(s.models["generator"]), copy.deepcopy(s.models["discriminator"])
    g_opt = torch.optim.Adam(G.parameters(), lr=0.01, betas=(0.5, 0.999))
    d_opt = torch.optim.SGD(D.parameters(), lr=0.05, momentum=0.5)
    batch = next(iter(s.data.loaders["train"].epoch(s.generator)))
    real = batch["image"]
    for m in (*s.models.values(), G, D):
        m.train()
    state = torch.get_rng_state()
    returned = s.program.train_step(batch, s.updater)
    torch.set_rng_state(state)
    with torch.no_grad():
        fake = G(torch.randn(len(real), 4))
    d_loss = F.binary_cross_entropy_with_logits(D(real), torch.ones(len(real), 1)) + \
        F.binary_cross_entropy_with_logits(D(fake), torch.zeros(len(real), 1))
    d_opt.zero_grad()
    d_loss.backward()
    d_opt.step()
    g_loss = F.binary_cross_entropy_with_logits(D(G(torch.randn(len(real), 4))), torch.ones(len(real), 1))
    g_opt.zero_grad()
    g_loss.backward()
    g_opt.step()
    assert float(returned) == pytest.approx(float(d_loss.detach()), rel=1e-6)
    for mine, ref in ((s.models["generator"], G), (s.models["discriminator"], D)):
        for (k, a), b in zip(mine.state_dict().items(), ref.state_dict().values()):
            assert torch.allclose(a, b, atol=1e-6), k
    assert all(p.grad is None for p in s.models["discriminator"].parameters())  # D frozen in the G step


@pytest.mark.parametrize("d_steps", [1, 2, 3])
def test_d_steps_discriminator_steps_per_generator_step(write_spec, tmp_path, d_steps):
    """5 batches per epoch, 2 epochs: every batch steps D; G steps after every d_steps-th D step,
    counting across the epoch boundary."""
    result = train_spec(tiny(write_spec, d_steps), ["train.epochs=2"], out=tmp_path / "r")
    ckpt = load_checkpoint(tmp_path / "r" / "last.pt")
    assert ckpt["steps"] == {"discriminator": 10, "generator": 10 // d_steps}
    assert ckpt["program"] == {"d_updates": 10}
    assert "train.g_loss" in result.history[0] and "lr.generator" in result.history[0]


def test_multi_model_resume_is_bit_exact(write_spec, tmp_path):
    """An interrupted and resumed run ends with the same weights, optimizer states and sample grid
    as an uninterrupted one (d_steps 2 with 5 batches per epoch: the counter crosses the cut)."""
    spec = tiny(write_spec, d_steps=2)
    straight = train_spec(spec, out=tmp_path / "a")
    with pytest.raises(Interrupt):
        train_spec(spec, out=tmp_path / "b", reporter=StopAfter(1))
    resumed = train_spec(spec, resume=tmp_path / "b")
    a, b = load_checkpoint(tmp_path / "a" / "last.pt"), load_checkpoint(tmp_path / "b" / "last.pt")
    assert a["steps"] == b["steps"] and a["program"] == b["program"]
    for name in ("generator", "discriminator"):
        for k, v in a["models"][name].items():
            assert torch.equal(v, b["models"][name][k]), (name, k)
        sa, sb = a["optimizers"][name]["state"], b["optimizers"][name]["state"]
        for i in sa:
            for k, v in sa[i].items():
                assert torch.equal(torch.as_tensor(v), torch.as_tensor(sb[i][k])), (name, i, k)
    assert resumed.history[-1]["train.g_loss"] == straight.history[-1]["train.g_loss"]
    assert (tmp_path / "a/samples/epoch_004.png").read_bytes() == (tmp_path / "b/samples/epoch_004.png").read_bytes()
    other = train_spec(spec, ["train.seed=1"], out=tmp_path / "c")  # the comparison can fail
    assert other.history[-1]["train.g_loss"] != straight.history[-1]["train.g_loss"]


@pytest.mark.parametrize("loss", ["minimax", "non_saturating", "least_squares", "{type: wgan, clip_value: 0.02}",
                                  "{type: wgan_gp, penalty: 5.0}"])
def test_every_loss_trains_and_logs_its_figures(write_spec, tmp_path, loss):
    result = train_spec(tiny(write_spec, loss=loss), ["train.epochs=2"], out=tmp_path / "r")
    row = result.history[-1]
    wasserstein = "wgan" in loss
    assert ("val.wasserstein" in row) == wasserstein and ("val.d_accuracy" in row) != wasserstein
    assert all(isinstance(row[k], float) and row[k] == row[k] for k in ("train.d_loss", "train.g_loss", "val.g_loss"))
    if "clip_value" in loss:
        d = load_checkpoint(tmp_path / "r" / "last.pt")["models"]["discriminator"]
        assert max(float(v.abs().max()) for v in d.values()) <= 0.02 + 1e-7


def test_sample_grid_each_epoch(write_spec, tmp_path):
    train_spec(tiny(write_spec), ["train.epochs=2"], out=tmp_path / "r")
    for epoch in (1, 2):
        with Image.open(tmp_path / f"r/samples/epoch_00{epoch}.png") as im:
            # 9 samples of 4×4 enlarged 8× to 32×32, 3 per row, 1-pixel borders
            assert im.size == (3 * 33 + 1, 3 * 33 + 1) and im.mode == "L"


@pytest.mark.parametrize("patch, path, message", [
    ("{name: image, reshape: {shape: [1, 2, 8]}}", ("models", "generator", "layers", 4),
     "generator output 'image' has shape (1, 2, 8), but discriminator input 'image' expects (1, 4, 4)"),
    ("{name: image, reshape: {shape: [1, 4, 4]}}\n      - {name: extra, linear: {out_features: 2}, inputs: [fc1]}",
     None, None),
])
def test_generator_output_must_fit_the_discriminator(write_spec, patch, path, message):
    text = TINY.replace("D_STEPS", "1").replace("LOSS", "minimax").replace("{name: image, reshape: {shape: [1, 4, 4]}}", patch)
    found = problems(write_spec(text))
    assert found == ([] if message is None else [(path, message)])  # an unused extra node is fine


@pytest.mark.parametrize("patch, path, fragment", [
    (("program: {type: gan,", "program: {type: gan, generator: gen,"), ("train", "program", "generator"), "names model 'gen'"),
    (("generator: {type: adam", "generatr: {type: adam"), ("train", "optimizers", "generatr"), "not a model"),
    (("  epochs: 4\n", "  epochs: 4\n  loss: mse\n"), ("train", "loss"), "computes its own loss"),
    (("program: {type: gan,", "program: {type: gan, condition: z,"), ("train", "program", "condition"), "int64 input"),
    (("{name: logit, linear: {out_features: 1}}", "{name: logit, linear: {out_features: 2}}"),
     ("models", "discriminator", "layers", 2), "one score per sample"),
])
def test_gan_settings_are_checked_by_validate(write_spec, patch, path, fragment):
    text = TINY.replace("D_STEPS", "1").replace("LOSS", "minimax").replace(*patch)
    found = problems(write_spec(text))
    assert any(p == path and fragment in m for p, m in found), found


def test_wgan_gp_with_batch_norm_in_the_critic_is_a_warning(write_spec):
    text = TINY.replace("D_STEPS", "1").replace("LOSS", "wgan_gp").replace(
        "      - {name: logit, linear", "      - {name: bn, batch_norm1d: {}}\n      - {name: logit, linear")
    warnings = check(write_spec(text)).warnings
    assert any("gradient penalty" in w.message and w.path == ("train", "program", "loss") for w in warnings)


# ---- the digits examples --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def judge(tmp_path_factory):
    """examples/digits_cnn.yaml trained for 8 epochs (≥ 98% on real validation digits)."""
    j = train_judge(tmp_path_factory.mktemp("cnn"))
    assert j.val_accuracy >= 0.98
    return j


def test_gan_example_draws_digits_the_cnn_recognizes(tmp_path, judge):
    """The discriminator neither wins nor loses: its validation accuracy stays in [0.5, 0.9] in every
    epoch (≈ 1.0 would mean a collapsed or stuck generator). Quality of the digits: the CNN's mean
    confidence (the probability of the class it predicts) on 500 generated digits, and the class
    coverage (classes receiving ≥ 3% of the samples as confident > 0.9 predictions). A CNN judging
    what is not a digit is unsure (≈ 0.5 here, 1/10 at chance) and sees few classes: the untrained
    generator and uniform noise are the baselines, measured, not assumed."""
    result = train_spec(EXAMPLES / "digits_gan.yaml", out=tmp_path / "gan")
    acc = [r["val.d_accuracy"] for r in result.history]
    assert all(0.5 <= a <= 0.9 for a in acc), acc
    assert len(list((tmp_path / "gan" / "samples").glob("epoch_*.png"))) == 40
    p = judge.probs((draw(generator_of(tmp_path / "gan"), 500, 32) + 1) * 8)  # [-1, 1] → 0…16
    p0 = judge.probs((draw(untrained(EXAMPLES / "digits_gan.yaml", "generator"), 500, 32) + 1) * 8)
    noise = judge.probs(torch.rand(500, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 16)
    baseline = max(judge.confidence(p0), judge.confidence(noise))
    assert judge.confidence(p) >= 0.75 and judge.confidence(p) >= baseline + 0.2, (judge.confidence(p), baseline)
    assert judge.coverage(p) >= 7 and judge.coverage(p0) <= 2 and judge.coverage(noise) <= 2
    from netspec.export import export_spec  # the trained generator as verified ONNX

    done = export_spec(EXAMPLES / "digits_gan.yaml", checkpoint=tmp_path / "gan", models=["generator"],
                       out=tmp_path / "generator.onnx")
    assert done[0].verified is True and done[0].dynamic_axes == {"z": {0: "batch"}}


def test_cgan_example_draws_the_digit_asked_for(tmp_path, judge):
    """Class agreement: the share of generated digits that the CNN assigns to the label they were
    generated for. Chance is 10% (and the untrained generator, which ignores its label, is near
    it); the trained conditional generator must reach 80% (the example states ≈ 97%)."""
    result = train_spec(EXAMPLES / "digits_cgan.yaml", out=tmp_path / "cgan")
    assert all(0.5 <= r["val.d_accuracy"] <= 0.9 for r in result.history)
    labels = torch.arange(500) % 10
    agree = float((judge.probs((draw(generator_of(tmp_path / "cgan"), 500, 32, labels) + 1) * 8).argmax(1) == labels).float().mean())
    g0 = untrained(EXAMPLES / "digits_cgan.yaml", "generator")
    agree0 = float((judge.probs((draw(g0, 500, 32, labels) + 1) * 8).argmax(1) == labels).float().mean())
    assert agree >= 0.8 and agree0 <= 0.2, (agree, agree0)
    # netspec sample draws the class asked for, as a grid; the generator exports to verified ONNX
    proc = run_cli("sample", str(EXAMPLES / "digits_cgan.yaml"), "--checkpoint", str(tmp_path / "cgan"), "-n", "20",
                   "--label", "7", "-o", str(tmp_path / "sevens.npz"), "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["labels"] == [7] * 20
    import numpy as np

    sevens = torch.from_numpy(np.load(tmp_path / "sevens.npz")["samples"])
    assert float((judge.probs((sevens + 1) * 8).argmax(1) == 7).float().mean()) >= 0.5
    from netspec.export import export_spec

    done = export_spec(EXAMPLES / "digits_cgan.yaml", checkpoint=tmp_path / "cgan", models=["generator"],
                       out=tmp_path / "g.onnx")
    assert done[0].verified is True and done[0].path.exists()


def test_sample_command_writes_a_grid_and_refuses_a_label_without_condition(write_spec, tmp_path):
    spec = tiny(write_spec)
    train_spec(spec, ["train.epochs=1"], out=tmp_path / "r")
    proc = run_cli("sample", str(spec), "--checkpoint", str(tmp_path / "r"), "-n", "16", "-o", str(tmp_path / "s.png"))
    assert proc.returncode == 0, proc.stderr
    with Image.open(tmp_path / "s.png") as im:
        assert im.size == (4 * 33 + 1, 4 * 33 + 1)
    bad = run_cli("sample", str(spec), "--checkpoint", str(tmp_path / "r"), "--label", "1")
    assert bad.returncode == 1 and "conditional GAN" in bad.stderr and "Traceback" not in bad.stderr
