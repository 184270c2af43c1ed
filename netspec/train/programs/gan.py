"""The GAN program: a discriminator step on every batch, a generator step after every ``d_steps``
discriminator steps.

Discriminator step: real samples from the batch, fakes G(z) from fresh noise (no gradient to G);
loss ``d_loss(real scores, fake scores)`` (+ the gradient penalty for wgan_gp; weights clipped after
the step for wgan). Generator step: fresh noise, D frozen (its parameters take no gradient), loss
``g_loss(D(G(z)))``. A conditional GAN feeds the batch's labels to both models, for real and for
generated samples. Noise and interpolation weights come from the global torch RNG, saved in
checkpoints with the count of discriminator steps, so a resumed run repeats an uninterrupted one.

Logged: ``loss`` = the discriminator's loss, ``d_loss``, ``g_loss`` and ``d_accuracy`` (share of
real and generated samples the discriminator scores correctly) or, for the Wasserstein losses,
``wasserstein`` (mean real score − mean fake score). Validation scores the val split's real
samples against as many fresh fakes. After each epoch a grid of samples from fixed noise (labels
0, 1, 2, … cycling for a conditional GAN) is written to ``samples/epoch_NNN.png`` in the run
directory (``.npy`` for samples that are not images).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator, Optional, cast

import torch

from ..generative_losses import d_accuracy, d_loss, g_loss, gradient_penalty
from ..samples import draw_noise, is_image, save_samples
from .base import ProgramContext, TrainProgram
from .tally import Means

Batch = dict[str, torch.Tensor]


@contextlib.contextmanager
def frozen(model: torch.nn.Module) -> Iterator[None]:
    """No gradients into ``model``'s parameters inside (their requires_grad flags are restored)."""
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


class Gan(TrainProgram):
    name = "gan"

    @staticmethod
    def data_graph(graphs: dict[str, Any], plan: Any) -> Any:
        return graphs[plan.program.discriminator]

    def __init__(self, ctx: ProgramContext) -> None:
        models, forward, plan, inputs, device, seed = ctx.models, ctx.forward, ctx.plan, ctx.inputs, ctx.device, ctx.train.seed
        classes = (ctx.data.preprocessor.state_dict().get("classes") or []) if ctx.data is not None else []
        num_classes = len(classes) or None
        p, roles = plan.program, plan.roles
        self.program, self.kind, self.device = p, p.loss.type, device
        self.models = {p.generator: models[p.generator], p.discriminator: models[p.discriminator]}
        self.g_name, self.d_name = p.generator, p.discriminator
        self.generator, self.discriminator = forward[p.generator], forward[p.discriminator]
        g, d = models[p.generator], models[p.discriminator]
        self.g_inputs, self.d_inputs = list(g.input_names), list(d.input_names)
        self.g_index = list(g.output_names).index(roles["g_output"])
        self.d_index = list(d.output_names).index(roles["d_output"])
        self.noise_name, self.cond = roles["noise"], roles["condition"]
        self.noise_shape = tuple(roles["noise_shape"])
        self.sample_field = inputs[roles["sample"]]
        self.label_field = inputs[self.cond] if self.cond else None
        self.value_range = roles.get("range")
        self.num_classes = roles.get("num_classes") or num_classes or 1
        self.d_updates = 0
        self.metrics = {"eval": Means(), "train": Means()}
        gen = torch.Generator().manual_seed(seed)
        self.fixed_noise = draw_noise(p.samples, self.noise_shape, p.distribution, generator=gen).to(device)
        self.fixed_labels = (torch.arange(p.samples) % self.num_classes).to(device) if self.cond else None

    # ---- the two models ----------------------------------------------------------------------------
    def generate(self, z: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
        args = {self.noise_name: z, **({self.cond: labels} if self.cond else {})}
        out = self.generator(*[args[n] for n in self.g_inputs])
        return cast(torch.Tensor, out[self.g_index] if isinstance(out, tuple) else out)

    def score(self, x: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
        args = {**({self.cond: labels} if self.cond else {})}
        out = self.discriminator(*[args[n] if n in args else x for n in self.d_inputs])
        out = out[self.d_index] if isinstance(out, tuple) else out
        return cast(torch.Tensor, out.reshape(out.shape[0]))

    def noise(self, n: int) -> torch.Tensor:
        return draw_noise(n, self.noise_shape, self.program.distribution, self.device)

    # ---- steps ---------------------------------------------------------------------------------------
    def discriminator_loss(self, real: torch.Tensor, labels: Optional[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        with torch.no_grad():
            fake = self.generate(self.noise(real.shape[0]), labels)
        s_real, s_fake = self.score(real, labels), self.score(fake, labels)
        loss = d_loss(self.kind, s_real, s_fake)
        if self.kind == "wgan_gp":
            loss = loss + self.program.loss.penalty * gradient_penalty(lambda x: self.score(x, labels), real, fake.to(real.dtype))
        return loss, s_real.detach(), s_fake.detach()

    def generator_loss(self, n: int, labels: Optional[torch.Tensor]) -> torch.Tensor:
        return g_loss(self.kind, self.score(self.generate(self.noise(n), labels), labels))

    def train_step(self, batch: Batch, updater: Any) -> torch.Tensor:
        real = batch[self.sample_field]
        labels = batch[self.label_field] if self.label_field else None
        n = real.shape[0]
        with updater.autocast():
            loss_d, s_real, s_fake = self.discriminator_loss(real, labels)
        if updater.update(self.d_name, loss_d) and self.kind == "wgan":
            with torch.no_grad():
                for p in self.models[self.d_name].parameters():
                    p.clamp_(-self.program.loss.clip_value, self.program.loss.clip_value)
        self.d_updates += 1
        self._tally("train", loss_d, s_real, s_fake, n)
        if self.d_updates % self.program.d_steps == 0:
            with frozen(self.models[self.d_name]), updater.autocast():
                loss_g = self.generator_loss(n, labels)
            updater.update(self.g_name, loss_g)
            self.metrics["train"].add("g_loss", loss_g, n)
        return loss_d.detach()

    def eval_step(self, batch: Batch, autocast: Any = None) -> torch.Tensor:
        real = batch[self.sample_field]
        labels = batch[self.label_field] if self.label_field else None
        with autocast() if autocast is not None else contextlib.nullcontext():
            with torch.set_grad_enabled(self.kind == "wgan_gp"):  # the penalty differentiates D
                loss_d, s_real, s_fake = self.discriminator_loss(real, labels)
            with torch.no_grad():
                loss_g = self.generator_loss(real.shape[0], labels)
        self._tally("eval", loss_d, s_real, s_fake, real.shape[0])
        self.metrics["eval"].add("g_loss", loss_g, real.shape[0])
        return loss_d.detach()

    def _tally(self, split: str, loss: torch.Tensor, s_real: torch.Tensor, s_fake: torch.Tensor, n: int) -> None:
        m = self.metrics[split]
        m.add("d_loss", loss, n)
        if self.kind.startswith("wgan"):
            m.add("wasserstein", s_real.float().mean() - s_fake.float().mean(), n)
        else:
            m.add("d_accuracy", d_accuracy(self.kind, s_real, s_fake), n)

    # ---- artefacts and state -------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, z: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
        g = self.models[self.g_name]
        mode = g.training
        g.eval()
        try:
            return self.generate(z, labels)
        finally:
            g.train(mode)

    def end_epoch(self, epoch: int, run_dir: Optional[Path]) -> None:
        if run_dir is None or not self.program.samples:
            return
        x = self.sample(self.fixed_noise, self.fixed_labels)
        suffix = ".png" if is_image(tuple(x.shape[1:])) else ".npy"
        save_samples(x, Path(run_dir) / "samples" / f"epoch_{epoch:03d}{suffix}", self.value_range, self.fixed_labels)

    def state_dict(self) -> dict[str, Any]:
        return {"d_updates": self.d_updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.d_updates = int(state.get("d_updates", 0))
