"""The losses of the autoencoder, VAE and GAN programs, written from their formulas.

Conventions: a batch is dimension 0; "per sample" sums over every other dimension and the batch
mean is taken last, so values do not depend on the batch size.

* sparsity: ``l1_activity`` = mean_n Σ_j |a_nj|; ``kl_sparsity`` = Σ_j KL(ρ ‖ ρ̂_j) with
  ρ̂_j = mean_n a_nj (Ng, "Sparse autoencoder", CS294A notes).
* VAE: ``kl_normal`` = mean_n −½ Σ_j (1 + log σ²_nj − μ²_nj − σ²_nj), the KL divergence of
  N(μ, σ²) from N(0, I); ``reconstruction`` = mean_n Σ_j ℓ(x̂_nj, x_nj) with ℓ binary cross-entropy
  (on probabilities or logits) or the squared error.
* GAN (D returns a logit or critic score s): ``d_loss``/``g_loss`` per loss type, see
  ``netspec.programs.gan``; ``gradient_penalty`` = mean_n (‖∇_x̂ D(x̂)‖₂ − 1)² at
  x̂ = ε·x + (1 − ε)·x̃, ε ~ U(0, 1) per sample (Gulrajani et al. 2017).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

EPS = 1e-6


def l1_activity(a: torch.Tensor) -> torch.Tensor:
    return a.abs().flatten(1).sum(1).mean()


def kl_sparsity(a: torch.Tensor, rho: float) -> torch.Tensor:
    """Σ over units (every non-batch position) of KL(Bernoulli(ρ) ‖ Bernoulli(ρ̂_j))."""
    rho_hat = a.flatten(1).mean(0).clamp(EPS, 1 - EPS)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).flatten(1).sum(1).mean()


def reconstruction(kind: str, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    out, x = out.float(), x.float()
    if kind == "bce":
        total = F.binary_cross_entropy(out.clamp(EPS, 1 - EPS), x, reduction="sum")
    elif kind == "bce_with_logits":
        total = F.binary_cross_entropy_with_logits(out, x, reduction="sum")
    else:
        total = F.mse_loss(out, x, reduction="sum")
    return total / n


# ---- GAN ------------------------------------------------------------------------------------------

def _bce_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """−log σ(s_real) − log(1 − σ(s_fake)), each averaged over its batch."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


D_LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "minimax": _bce_d,
    "non_saturating": _bce_d,
    "least_squares": lambda real, fake: 0.5 * (real - 1).pow(2).mean() + 0.5 * fake.pow(2).mean(),
    "wgan": lambda real, fake: fake.mean() - real.mean(),
    "wgan_gp": lambda real, fake: fake.mean() - real.mean(),
}

G_LOSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "minimax": lambda fake: -F.softplus(fake).mean(),  # mean log(1 − σ(s)), minimized
    "non_saturating": lambda fake: F.softplus(-fake).mean(),  # mean −log σ(s)
    "least_squares": lambda fake: 0.5 * (fake - 1).pow(2).mean(),
    "wgan": lambda fake: -fake.mean(),
    "wgan_gp": lambda fake: -fake.mean(),
}


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return D_LOSSES[kind](real.float(), fake.float())


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    return G_LOSSES[kind](fake.float())


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """mean (‖∇ critic(x̂)‖₂ − 1)² at random interpolates of real and fake samples (graph kept for backward)."""
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    score = critic(mixed)
    (grad,) = torch.autograd.grad(score.sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def d_accuracy(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Share of samples the discriminator puts on the right side: score > 0 for logits, > ½ for least squares."""
    t = 0.5 if kind == "least_squares" else 0.0
    hits = (real.float() > t).float().sum() + (fake.float() <= t).float().sum()
    return hits / (real.numel() + fake.numel())
