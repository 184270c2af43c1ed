"""The generative programs' losses against their formulas and against direct torch constructions
(torch.distributions, torch.nn losses, autograd), with values that make a wrong sign, reduction or
constant visible."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from netspec.train import generative_losses as L


def test_kl_sparsity_is_the_bernoulli_kl_summed_over_units():
    a = torch.tensor([[0.1, 0.9, 0.5], [0.3, 0.7, 0.5]])
    rho = 0.05
    expected = 0.0
    for j in range(3):
        r = float(a[:, j].mean())
        expected += rho * math.log(rho / r) + (1 - rho) * math.log((1 - rho) / (1 - r))
    assert float(L.kl_sparsity(a, rho)) == pytest.approx(expected, rel=1e-6)
    # against torch.distributions: KL(Bernoulli(rho) || Bernoulli(rho_hat))
    d = torch.distributions
    ref = d.kl_divergence(d.Bernoulli(probs=torch.full((3,), rho)), d.Bernoulli(probs=a.mean(0))).sum()
    assert float(L.kl_sparsity(a, rho)) == pytest.approx(float(ref), rel=1e-5)
    # zero exactly at the target rate; units beyond the batch dim are flattened (conv maps)
    assert float(L.kl_sparsity(torch.full((4, 2, 3, 3), rho), rho)) == pytest.approx(0.0, abs=1e-6)


def test_l1_activity_sums_units_and_averages_samples():
    a = torch.tensor([[1.0, -2.0], [0.0, 3.0]])
    assert float(L.l1_activity(a)) == pytest.approx((3 + 3) / 2)


def test_kl_normal_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 4), torch.randn(5, 4)
    d = torch.distributions
    q = d.Normal(mu, torch.exp(0.5 * logvar))
    p = d.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    ref = d.kl_divergence(q, p).sum(1).mean()
    assert float(L.kl_normal(mu, logvar)) == pytest.approx(float(ref), rel=1e-5)
    assert float(L.kl_normal(torch.zeros(3, 2), torch.zeros(3, 2))) == 0.0


@pytest.mark.parametrize("kind", ["bce", "bce_with_logits", "mse"])
def test_reconstruction_sums_over_values_and_averages_over_samples(kind):
    torch.manual_seed(1)
    x = torch.rand(6, 1, 4, 4)
    raw = torch.randn(6, 1, 4, 4)
    out = torch.sigmoid(raw) if kind == "bce" else raw
    module = {"bce": nn.BCELoss, "bce_with_logits": nn.BCEWithLogitsLoss, "mse": nn.MSELoss}[kind](reduction="sum")
    assert float(L.reconstruction(kind, out, x)) == pytest.approx(float(module(out, x)) / 6, rel=1e-5)


def test_gan_bce_losses_match_bce_with_logits():
    real, fake = torch.tensor([2.0, -0.5, 0.3]), torch.tensor([-1.0, 0.7])
    bce = nn.BCEWithLogitsLoss()
    d_ref = bce(real, torch.ones(3)) + bce(fake, torch.zeros(2))
    for kind in ("minimax", "non_saturating"):
        assert float(L.d_loss(kind, real, fake)) == pytest.approx(float(d_ref), rel=1e-6)
    # non-saturating G: −log D(G(z)) = BCE against "real"
    assert float(L.g_loss("non_saturating", fake)) == pytest.approx(float(bce(fake, torch.ones(2))), rel=1e-6)
    # minimax G minimizes log(1 − D(G(z))) = −BCE against "fake"
    assert float(L.g_loss("minimax", fake)) == pytest.approx(-float(bce(fake, torch.zeros(2))), rel=1e-6)
    assert float(L.g_loss("minimax", fake)) == pytest.approx(float(torch.log(1 - torch.sigmoid(fake)).mean()), rel=1e-6)


def test_least_squares_and_wasserstein_losses():
    real, fake = torch.tensor([0.8, 1.4]), torch.tensor([0.1, -0.3, 0.5])
    mse = nn.MSELoss()
    assert float(L.d_loss("least_squares", real, fake)) == pytest.approx(
        0.5 * float(mse(real, torch.ones(2))) + 0.5 * float(mse(fake, torch.zeros(3))), rel=1e-6)
    assert float(L.g_loss("least_squares", fake)) == pytest.approx(0.5 * float(mse(fake, torch.ones(3))), rel=1e-6)
    for kind in ("wgan", "wgan_gp"):
        assert float(L.d_loss(kind, real, fake)) == pytest.approx(float(fake.mean() - real.mean()), rel=1e-6)
        assert float(L.g_loss(kind, fake)) == pytest.approx(-float(fake.mean()), rel=1e-6)


def test_gradient_penalty_of_a_linear_critic_is_known_in_closed_form():
    """For D(x) = w·x the gradient is w everywhere: the penalty is (‖w‖ − 1)², whatever the interpolates."""
    w = torch.tensor([3.0, 4.0])  # ‖w‖ = 5
    real, fake = torch.randn(7, 2), torch.randn(7, 2)
    gp = L.gradient_penalty(lambda x: x @ w, real, fake)
    assert float(gp) == pytest.approx(16.0, rel=1e-6)
    # and the penalty is differentiable in the critic's parameters (create_graph)
    wp = torch.tensor([0.6, 0.0], requires_grad=True)
    L.gradient_penalty(lambda x: x @ wp, real, fake).backward()
    # d/dw (‖w‖ − 1)² = 2(‖w‖ − 1)·w/‖w‖ = 2·(−0.4)·(1, 0)
    assert torch.allclose(wp.grad, torch.tensor([-0.8, 0.0]), atol=1e-6)


def test_gradient_penalty_against_a_hand_computed_mlp_gradient():
    torch.manual_seed(2)
    critic = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1))
    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    torch.manual_seed(9)
    gp = L.gradient_penalty(lambda x: critic(x).squeeze(1), real, fake)
    torch.manual_seed(9)
    eps = torch.rand(4, 1)
    x = (eps * real + (1 - eps) * fake)
    w1, b1, w2 = critic[0].weight, critic[0].bias, critic[2].weight
    h = torch.tanh(x @ w1.T + b1)
    grad = ((1 - h ** 2) * w2) @ w1  # d critic / dx, by hand
    ref = ((grad.norm(dim=1) - 1) ** 2).mean()
    assert float(gp.detach()) == pytest.approx(float(ref.detach()), rel=1e-5)


def test_discriminator_accuracy_thresholds():
    real, fake = torch.tensor([1.0, -1.0, 2.0]), torch.tensor([-3.0, 0.5])
    assert float(L.d_accuracy("non_saturating", real, fake)) == pytest.approx(3 / 5)
    assert float(L.d_accuracy("least_squares", torch.tensor([0.9, 0.4]), torch.tensor([0.2, 0.6]))) == pytest.approx(2 / 4)
