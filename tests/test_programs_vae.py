"""The vae program: its loss against a hand-written ELBO, one backward stepping both models, the
example's stated quality (reconstruction falls, the KL term stays far below a beta = 0 model's
and above collapse), `netspec sample`, the decoder's ONNX export, located validation errors."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from conftest import EXAMPLES, run_cli
from generative_helpers import problems, session_for
from netspec.train.api import train_spec

VAE = EXAMPLES / "digits_vae.yaml"


def test_loss_is_reconstruction_plus_beta_kl(tmp_path):
    s = session_for(VAE, ("train.program.beta=2.5",))
    batch = next(iter(s.data.loaders["val"].epoch()))
    x = batch["image"]
    enc, dec = s.models["encoder"].eval(), s.models["decoder"].eval()
    with torch.no_grad():
        loss = s.program.eval_step(batch)
        mu, logvar, _ = enc(x)
        rec = F.binary_cross_entropy(dec(mu), x, reduction="sum") / len(x)
        kl = (-0.5 * (1 + logvar - mu ** 2 - logvar.exp())).sum(1).mean()
    assert float(loss) == pytest.approx(float(rec + 2.5 * kl), rel=1e-5)
    logged = s.program.metrics["eval"].compute()
    assert logged["reconstruction"] == pytest.approx(float(rec), rel=1e-5)
    assert logged["kl"] == pytest.approx(float(kl), rel=1e-5)


@pytest.mark.parametrize("warmup,done", [(0, 0), (10, 7)])
def test_one_backward_steps_encoder_and_decoder_like_torch(warmup, done):
    """A training step with the encoder's own reparameterized z equals the hand-written step:
    one Adam optimizer per model, one loss, one backward; during the KL warm-up β is
    beta × steps done / warm-up steps (10 epochs of batches here)."""
    s = session_for(VAE, (f"train.program.beta_warmup_epochs={warmup}",))
    s.updater.slots["encoder"].steps = done
    beta = done / (warmup * len(s.data.loaders["train"])) if warmup else 1.0
    enc, dec = copy.deepcopy(s.models["encoder"]), copy.deepcopy(s.models["decoder"])
    opts = [torch.optim.Adam(m.parameters(), lr=2e-3) for m in (enc, dec)]
    batch = next(iter(s.data.loaders["train"].epoch(s.generator)))
    for m in (*s.models.values(), enc, dec):
        m.train()
    state = torch.get_rng_state()
    s.program.train_step(batch, s.updater)
    torch.set_rng_state(state)
    x = batch["image"]
    mu, logvar, z = enc(x)
    loss = F.binary_cross_entropy(dec(z), x, reduction="sum") / len(x) + \
        beta * (-0.5 * (1 + logvar - mu ** 2 - logvar.exp())).sum(1).mean()
    loss.backward()
    for o in opts:
        o.step()
    for mine, ref in ((s.models["encoder"], enc), (s.models["decoder"], dec)):
        for (k, a), b in zip(mine.state_dict().items(), ref.state_dict().values()):
            assert torch.allclose(a, b, atol=1e-6), k
    assert s.updater.slots["encoder"].steps == done + 1 and s.updater.slots["decoder"].steps == 1


def test_example_reconstruction_and_kl_fall_and_the_kl_term_regularizes(tmp_path):
    """The example's stated quality on a shorter run (12 of 30 epochs; the KL warm-up is 10): the
    reconstruction loss and the KL fall (the KL from its first epoch, when β is still near 0); the
    KL is neither collapsed (> 1 nat: z carries information) nor free (below a fifth of the KL the
    same model reaches with beta = 0, an autoencoder with a noisy code) -- the KL term is what pulls
    the code toward the prior; β ramps to 1 and stays there."""
    vae = train_spec(VAE, ["train.epochs=12"], out=tmp_path / "vae").history
    free = train_spec(VAE, ["train.epochs=12", "train.program.beta=0.0"], out=tmp_path / "free").history
    rec = [r["val.reconstruction"] for r in vae]
    kl = [r["val.kl"] for r in vae]
    assert rec[-1] <= 0.8 * rec[0], rec
    assert kl[-1] <= 0.5 * kl[0], kl
    assert vae[-1]["val.loss"] < vae[0]["val.loss"]
    assert 1.0 < kl[-1] < 0.2 * free[-1]["val.kl"], (kl[-1], free[-1]["val.kl"])
    betas = [r["train.beta"] for r in vae]
    assert betas == sorted(betas) and betas[0] < 0.1 and betas[-1] == 1.0, betas
    assert free[-1]["val.reconstruction"] < rec[-1]  # the price of the prior: the free code reconstructs better
    # sample and export the decoder
    proc = run_cli("sample", str(VAE), "--checkpoint", str(tmp_path / "vae"), "-n", "25", "-o", str(tmp_path / "s.png"))
    assert proc.returncode == 0, proc.stderr
    with Image.open(tmp_path / "s.png") as im:
        assert im.size == (5 * 33 + 1, 5 * 33 + 1)  # 5×5 samples, 8×8 enlarged to 32×32, 1-pixel borders
    from netspec.export import export_spec

    done = export_spec(VAE, checkpoint=tmp_path / "vae", models=["decoder"], out=tmp_path / "decoder.onnx")
    assert done[0].verified is True


def test_samples_come_from_the_prior_through_the_decoder(tmp_path):
    train_spec(VAE, ["train.epochs=1"], out=tmp_path / "r")
    from netspec.checkpoint import load_checkpoint, rebuild_models
    from netspec.train.sampling import sample_checkpoint

    info = sample_checkpoint(VAE, tmp_path / "r", n=6, output=tmp_path / "s.npz", seed=3)
    import numpy as np

    got = np.load(tmp_path / "s.npz")["samples"]
    decoder = rebuild_models(load_checkpoint(tmp_path / "r"))["decoder"]
    z = torch.randn(6, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert np.allclose(got, decoder(z).numpy(), atol=1e-6)
    assert info["model"] == "decoder" and info["shape"] == [1, 8, 8]


@pytest.mark.parametrize("old, new, path, fragment", [
    ("      z: {shape: [8]}", "      z: {shape: [6]}", ("models", "decoder", "inputs", "z", "shape"), "but mu is (8,)"),
    ("{name: image, reshape: {shape: [1, 8, 8]}}", "{name: image, reshape: {shape: [64]}}",
     ("models", "decoder", "layers", 2), "has shape (64,), but the encoder input 'image' has (1, 8, 8)"),
    ("program: {type: vae,", "program: {type: vae, mu: mean,", ("train", "program", "mu"), "does not return"),
    ("program: {type: vae,", "program: {type: vae, decoder: dec,", ("train", "program", "decoder"), "names model 'dec'"),
    ("  seed: 0\n", "  seed: 0\n  metrics: [mse]\n", ("train", "metrics"), "logs its own metrics"),
])
def test_vae_settings_are_checked_by_validate(write_spec, old, new, path, fragment):
    text = VAE.read_text(encoding="utf-8")
    assert old in text
    found = problems(write_spec(text.replace(old, new)))
    assert any(p == path and fragment in m for p, m in found), found


def test_bce_on_a_decoder_without_sigmoid_is_a_warning(write_spec):
    from netspec.check import check

    text = VAE.read_text(encoding="utf-8").replace("out_features: 64, activation: sigmoid", "out_features: 64")
    warnings = check(write_spec(text)).warnings
    assert any(w.path == ("train", "program", "reconstruction") and "sigmoid" in w.message for w in warnings)
    assert not check(VAE).warnings  # the sigmoid before the reshape counts


def test_pretrained_loads_into_the_named_model(tmp_path):
    """With several models, `pretrained.model` names the model to load (from the checkpoint's
    model of the same name); the others keep their fresh initialization."""
    train_spec(VAE, ["train.epochs=1"], out=tmp_path / "first")
    from netspec.checkpoint import load_checkpoint
    from netspec.errors import TrainError

    saved = load_checkpoint(tmp_path / "first" / "last.pt")["models"]
    s = session_for(VAE, (f"train.pretrained={{path: {tmp_path / 'first' / 'last.pt'}, model: decoder}}",))
    for k, v in s.models["decoder"].state_dict().items():
        assert torch.equal(v, saved["decoder"][k]), k
    assert not torch.equal(s.models["encoder"].state_dict()["hidden.weight"], saved["encoder"]["hidden.weight"])
    with pytest.raises(TrainError) as info:
        session_for(VAE, (f"train.pretrained={{path: {tmp_path / 'first' / 'last.pt'}}}",))
    assert info.value.path == ("train", "pretrained", "model")
