"""Programs that learn without a target column: ``autoencoder``, ``vae``, ``gan`` and
``contrastive`` (``train.program``). Plain pydantic, no torch; the rules that ``netspec validate``
checks are in ``netspec.spec.generative_checks``.

* ``autoencoder``: the target is the input; ``noise`` corrupts the input only (denoising), and
  ``sparsity`` adds an L1 or KL penalty on a named node's activations (sparse autoencoder). The
  reconstruction loss is ``train.loss`` (default mse).
* ``vae``: the encoder model returns mu and logvar (and optionally the sampled z), the decoder
  model maps z back; the loss per sample is reconstruction (summed over values) + beta · KL.
* ``gan``: a generator and a discriminator (a logit, or a critic score) with their own optimizers;
  ``d_steps`` discriminator steps per generator step; a ``condition`` input (class labels) turns it
  into a conditional GAN.
* ``contrastive``: one tower shared by two (pairs) or three (triplets) model inputs; pairs or
  triplets are drawn from a labelled dataset; the loss is ``train.loss`` (contrastive, triplet or
  cosine_embedding; default: contrastive for two inputs, triplet for three).
"""

from typing import Literal, Optional, Union

from pydantic import Field

from .base import NonNegInt, PositiveFloat, PositiveInt, StrictModel, tagged

# ---- autoencoder ------------------------------------------------------------------------------------


class GaussianInputNoise(StrictModel):
    """x + N(0, std²), drawn anew for every training batch."""
    type: Literal["gaussian"]
    std: PositiveFloat = Field(0.1, description="Standard deviation of the added noise (in preprocessed units).")


class MaskingInputNoise(StrictModel):
    """Each input value is replaced by `value` with probability p; kept values are not rescaled."""
    type: Literal["masking"]
    p: float = Field(0.25, gt=0, lt=1, description="Share of input values masked.")
    value: float = Field(0.0, description="What a masked value becomes.")


InputNoise = tagged(Union[GaussianInputNoise, MaskingInputNoise], "Corruption of the input (training only).")


class L1Sparsity(StrictModel):
    """weight · Σ_j |a_j| per sample (mean over the batch), a the node's activations."""
    type: Literal["l1"]
    node: str = Field(description="The node whose activations are penalized (e.g. the code layer).")
    weight: PositiveFloat = Field(1e-3, description="λ.")


class KlSparsity(StrictModel):
    """weight · Σ_j KL(ρ ‖ ρ̂_j), ρ̂_j the batch mean of unit j's activation (which must lie in (0, 1): sigmoid)."""
    type: Literal["kl"]
    node: str = Field(description="The node whose activations are penalized (sigmoid units).")
    rho: float = Field(0.05, gt=0, lt=1, description="Target mean activation ρ.")
    weight: PositiveFloat = Field(1.0, description="β, the weight of the penalty.")


Sparsity = tagged(Union[L1Sparsity, KlSparsity], "A sparsity penalty on a named node's activations.")


class AutoencoderProgram(StrictModel):
    """Reconstruct the input: plain, denoising (`noise`) or sparse (`sparsity`)."""
    type: Literal["autoencoder"]
    noise: Optional[InputNoise] = Field(None, description="Corrupt the input (not the target) while training.")
    sparsity: Optional[Sparsity] = None


# ---- vae ----------------------------------------------------------------------------------------------

class VaeProgram(StrictModel):
    """Encoder → (mu, logvar) → z = mu + σ·ε → decoder; loss = reconstruction + beta · KL(q(z|x) ‖ N(0, I))."""
    type: Literal["vae"]
    encoder: str = Field("encoder", description="The model mapping data to mu and logvar.")
    decoder: str = Field("decoder", description="The model mapping z back to data.")
    mu: str = Field("mu", description="The encoder output with the posterior mean.")
    logvar: str = Field("logvar", description="The encoder output with the posterior log-variance.")
    z: Optional[str] = Field(
        None, description="The encoder output with the sample (a `reparameterize` node); default: `z` if the encoder "
                          "returns it, else the program draws z = mu + exp(logvar / 2)·ε itself.")
    output: Optional[str] = Field(None, description="The decoder output compared with the input (default: its first).")
    reconstruction: Literal["bce", "bce_with_logits", "mse"] = Field(
        "bce", description="bce: the decoder ends in a sigmoid and data lie in [0, 1]; mse: Gaussian likelihood.")
    beta: float = Field(1.0, ge=0, description="Weight of the KL term (β-VAE: > 1).")
    beta_warmup_epochs: float = Field(
        0.0, ge=0, description="KL annealing: β grows linearly from 0 to `beta` over these many epochs (per optimizer "
                               "step), so the decoder learns to use z before the KL term pulls the code to the prior "
                               "(against posterior collapse; Bowman et al. 2016). Validation uses the full `beta`.")


# ---- gan ----------------------------------------------------------------------------------------------

class Minimax(StrictModel):
    """D: −log D(x) − log(1 − D(G(z))); G minimizes log(1 − D(G(z))) (saturates early on)."""
    type: Literal["minimax"]


class NonSaturating(StrictModel):
    """D as minimax; G minimizes −log D(G(z)) (stronger gradients while D wins)."""
    type: Literal["non_saturating"]


class LeastSquares(StrictModel):
    """LSGAN (Mao et al. 2017): D: ½(D(x) − 1)² + ½D(G(z))²; G: ½(D(G(z)) − 1)² (raw outputs)."""
    type: Literal["least_squares"]


class Wgan(StrictModel):
    """WGAN (Arjovsky et al. 2017): critic D(G(z)) − D(x), G: −D(G(z)); critic weights clipped after each step."""
    type: Literal["wgan"]
    clip_value: PositiveFloat = Field(0.01, description="Critic weights are clamped to [-clip_value, clip_value].")


class WganGp(StrictModel):
    """WGAN-GP (Gulrajani et al. 2017): the WGAN losses plus penalty · (‖∇D(x̂)‖ − 1)² on interpolates x̂."""
    type: Literal["wgan_gp"]
    penalty: PositiveFloat = Field(10.0, description="λ, the weight of the gradient penalty.")


GanLoss = tagged(Union[Minimax, NonSaturating, LeastSquares, Wgan, WganGp], "The adversarial losses of D and G.")


class GanProgram(StrictModel):
    """A generator and a discriminator trained against each other, each with its own optimizer."""
    type: Literal["gan"]
    generator: str = Field("generator", description="The model mapping noise (and a condition) to samples.")
    discriminator: str = Field("discriminator", description="The model scoring samples: one logit (or critic score) each.")
    loss: GanLoss = Field(default_factory=lambda: NonSaturating(type="non_saturating"))
    d_steps: PositiveInt = Field(1, description="Discriminator steps (each on a new real batch) per generator step.")
    noise: Optional[str] = Field(None, description="The generator input fed with noise (default: its only float input).")
    distribution: Literal["normal", "uniform"] = Field("normal", description="Noise: N(0, 1) or U(−1, 1).")
    condition: Optional[str] = Field(
        None, description="An int64 input of both models fed with class labels (conditional GAN): the real labels for "
                          "real samples, the same labels for generated ones. Default: an int64 input both models have.")
    samples: NonNegInt = Field(64, description="Size of the fixed-noise sample grid saved each epoch (0: none).")


# ---- contrastive ------------------------------------------------------------------------------------

class ContrastiveProgram(StrictModel):
    """One tower shared by two or three inputs; pairs (same class or not) or triplets from labelled data."""
    type: Literal["contrastive"]
    labels: str = Field("target", description="The data field with the class labels that define similarity.")
    positive_fraction: float = Field(0.5, gt=0, lt=1, description="Pairs: share of pairs drawn from the same class.")
    knn_reference: NonNegInt = Field(
        2000, description="val.knn_accuracy: 1-nearest-neighbour accuracy of validation embeddings against up to this "
                          "many training embeddings (0: not computed).")


GENERATIVE_PROGRAMS = (AutoencoderProgram, VaeProgram, GanProgram, ContrastiveProgram)
