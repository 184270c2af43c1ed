"""The VAE program: encoder → (mu, logvar) → z → decoder, one loss for both models.

Per sample, loss = reconstruction(decoder(z), x) + beta · KL(N(mu, σ²) ‖ N(0, I)) (see
``netspec.train.generative_losses``), averaged over the batch; one backward pass steps the
encoder's and the decoder's optimizers. In training z is the encoder's ``z`` output (a
``reparameterize`` node) or, when it has none, mu + exp(logvar / 2)·ε drawn here; in evaluation
z = mu, so ``val.loss`` is the reconstruction of the posterior mean plus the KL term. Logged:
``reconstruction`` and ``kl`` (train and val) beside ``loss``. With ``beta_warmup_epochs`` the
training β is ``beta · min(1, steps / warm-up steps)``, from the encoder's optimizer step count
(saved in checkpoints, so a resumed run continues the ramp); ``train.beta`` logs its epoch mean.
"""

from __future__ import annotations

import contextlib
from typing import Any, cast

import torch

from ..generative_losses import kl_normal, reconstruction
from .base import ProgramContext, TrainProgram
from .tally import Means

Batch = dict[str, torch.Tensor]


class Vae(TrainProgram):
    name = "vae"

    @staticmethod
    def data_graph(graphs: dict[str, Any], plan: Any) -> Any:
        return graphs[plan.program.encoder]

    def __init__(self, ctx: ProgramContext) -> None:
        models, forward, plan, inputs = ctx.models, ctx.forward, ctx.plan, ctx.inputs
        p = plan.program
        self.program = p
        batches = len(ctx.data.loaders["train"]) / max(ctx.train.accumulate, 1) if ctx.data is not None else 0
        self.warmup_steps = p.beta_warmup_epochs * batches  # the KL warm-up, in optimizer steps
        self.models = {p.encoder: models[p.encoder], p.decoder: models[p.decoder]}
        self.encoder, self.decoder = forward[p.encoder], forward[p.decoder]
        self.enc_outputs = list(models[p.encoder].output_names)
        self.dec_outputs = list(models[p.decoder].output_names)
        self.field = inputs[plan.roles["data"]]
        self.z_name, self.output = plan.roles["z"], plan.roles["output"]
        self.metrics = {"eval": Means(), "train": Means()}

    def encode(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.encoder(x)
        return {self.enc_outputs[0]: out} if len(self.enc_outputs) == 1 else dict(zip(self.enc_outputs, out))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decoder(z)
        return cast(torch.Tensor, out if len(self.dec_outputs) == 1 else out[self.dec_outputs.index(self.output)])

    def beta(self, steps: int) -> float:
        """β for the next optimizer step (the KL warm-up's linear ramp, then ``beta``)."""
        if self.warmup_steps <= 0:
            return cast(float, self.program.beta)
        return cast(float, self.program.beta * min(1.0, steps / self.warmup_steps))

    def losses(self, x: torch.Tensor, train: bool, beta: float | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        enc = self.encode(x)
        mu, logvar = enc[self.program.mu], enc[self.program.logvar]
        if not train:
            z = mu
        elif self.z_name is not None:
            z = enc[self.z_name]
        else:
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = reconstruction(self.program.reconstruction, self.decode(z), x)
        kl = kl_normal(mu.float(), logvar.float())
        return rec + (self.program.beta if beta is None else beta) * kl, rec, kl

    def _tally(self, split: str, rec: torch.Tensor, kl: torch.Tensor, n: int) -> None:
        self.metrics[split].add("reconstruction", rec, n)
        self.metrics[split].add("kl", kl, n)

    def train_step(self, batch: Batch, updater: Any) -> torch.Tensor:
        x = batch[self.field]
        beta = self.beta(updater.slots[self.program.encoder].steps)
        with updater.autocast():
            loss, rec, kl = self.losses(x, True, beta)
        updater.update((self.program.encoder, self.program.decoder), loss)
        self._tally("train", rec, kl, x.shape[0])
        if self.warmup_steps > 0:
            self.metrics["train"].add("beta", torch.tensor(beta, device=kl.device), x.shape[0])
        return loss.detach()

    @torch.no_grad()
    def eval_step(self, batch: Batch, autocast: Any = None) -> torch.Tensor:
        x = batch[self.field]
        with autocast() if autocast is not None else contextlib.nullcontext():
            loss, rec, kl = self.losses(x, False)
        self._tally("eval", rec, kl, x.shape[0])
        return loss

    @torch.no_grad()
    def outputs(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Encoder outputs and the reconstruction of the posterior mean."""
        enc = self.encode(batch[self.field])
        return {**enc, "reconstruction": self.decode(enc[self.program.mu])}
