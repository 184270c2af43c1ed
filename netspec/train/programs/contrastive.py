"""The contrastive program: one tower shared by two (pairs) or three (triplets) model inputs.

Each batch gives anchors and their labels; partners come from the same split's pool on the
device (``netspec.train.pairs``), drawn with the program's own seeded generator (saved in
checkpoints): for pairs, a same-class partner with probability ``positive_fraction`` (target 1,
or +1 for cosine_embedding) else an other-class one (target 0, or −1); for triplets, a positive
and a negative. The loss is ``train.loss`` on the model's embedding outputs. Validation pairs are
drawn the same way from the val split, with a generator reseeded for every evaluation (the same
pairs each epoch). ``val.knn_accuracy``: each validation sample takes the label of its nearest
training embedding (Euclidean, up to ``knn_reference`` training samples).

The tower alone (one input → one embedding) is ``netspec.train.towers``: for ONNX export, and
``netspec predict`` writes a contrastive model's embeddings.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import torch

from ...graph import Graph
from ...losses import LOSSES
from ..losses import build_loss
from ..pairs import PartnerSampler
from .base import ProgramContext, TrainProgram
from .tally import Means

Batch = dict[str, torch.Tensor]


class Contrastive(TrainProgram):
    name = "contrastive"

    @staticmethod
    def data_graph(graphs: dict[str, Any], plan: Any) -> Graph:
        """The tower model seen by the data: its first input only (every input reads that field)."""
        g = next(iter(graphs.values()))
        first = plan.roles["inputs"][0]
        return Graph(name=g.name, path=g.path, inputs={first: g.inputs[first]}, nodes=g.nodes, outputs=[], dims=g.dims)

    def __init__(self, ctx: ProgramContext) -> None:
        model, forward, plan, inputs, device, seed = (ctx.models["model"], ctx.forward["model"], ctx.plan, ctx.inputs,
                                                      ctx.device, ctx.train.seed)
        arrays: dict[str, dict[str, Any]] = ctx.data.arrays
        p, binding = plan.program, plan.losses[0]
        self.program, self.model, self.models = p, forward, {"model": model}
        self.triplets = plan.roles["sampling"] == "triplets"
        self.field, self.labels = inputs[plan.roles["inputs"][0]], p.labels
        self.arity = len(plan.roles["inputs"])
        names = list(model.output_names)
        self.out_index = [names.index(o) for o in binding.outputs]
        self.pair_labels, self.loss_fn = LOSSES.of(binding.spec).pair_labels, build_loss(binding.spec, "regression")
        finish = ctx.data.prepare or (lambda batch: batch)  # decoded uint8 images: as floats, like every batch
        self.pools = {s: (finish({self.field: torch.as_tensor(np.asarray(a[self.field])).to(device)})[self.field],
                          torch.as_tensor(a[self.labels]).to(device))
                      for s, a in arrays.items() if s in ("train", "val") and len(a[self.labels])}
        self.samplers = {s: PartnerSampler(y) for s, (_, y) in self.pools.items()
                         if s == "train" or len(torch.unique(y)) > 1}
        gen_device = device if device.type == "cuda" else torch.device("cpu")
        self.seed = seed
        self.gen = torch.Generator(device=gen_device).manual_seed(seed + 1)
        self.eval_gen = torch.Generator(device=gen_device).manual_seed(seed + 2)
        self._val: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.metrics = {"train": Means(), "eval": Means(on_compute=self._end_eval)}

    # ---- forward ---------------------------------------------------------------------------------------
    def embeddings(self, *xs: torch.Tensor) -> list[torch.Tensor]:
        out = self.model(*xs)
        out = out if isinstance(out, tuple) else (out,)
        return [out[i] for i in self.out_index]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The first embedding of ``x`` (every input gets ``x``; the tower is shared)."""
        return self.embeddings(*([x] * self.arity))[0]

    def _loss(self, batch: Batch, split: str, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = batch[self.field], batch[self.labels]
        pool_x, _ = self.pools[split]
        sampler = self.samplers[split]
        if self.triplets:
            embs = self.embeddings(x, pool_x[sampler.same(y, gen)], pool_x[sampler.other(y, gen)])
            return self.loss_fn(tuple(embs), None), embs[0]
        positive = torch.rand(x.shape[0], generator=gen, device=gen.device).to(x.device) < self.program.positive_fraction
        partner = torch.where(positive, sampler.same(y, gen), sampler.other(y, gen))
        embs = self.embeddings(x, pool_x[partner])
        dissimilar, similar = self.pair_labels  # type: ignore[misc]  # a pair loss has them
        target = positive.float() * (similar - dissimilar) + dissimilar
        return self.loss_fn(tuple(embs), target), embs[0]

    # ---- steps -----------------------------------------------------------------------------------------
    def train_step(self, batch: Batch, updater: Any) -> torch.Tensor:
        with updater.autocast():
            loss, _ = self._loss(batch, "train", self.gen)
        updater.update("model", loss)
        return loss.detach()

    @torch.no_grad()
    def eval_step(self, batch: Batch, autocast: Any = None) -> torch.Tensor:
        split = "val" if "val" in self.samplers else "train"
        with autocast() if autocast is not None else contextlib.nullcontext():
            loss, emb = self._loss(batch, split, self.eval_gen)
        if self.program.knn_reference:
            self._val.append((emb.float(), batch[self.labels]))
        return loss

    @torch.no_grad()
    def _end_eval(self) -> dict[str, float]:
        """k-NN accuracy of the collected validation embeddings; reseed the validation pairs."""
        self.eval_gen.manual_seed(self.seed + 2)
        collected, self._val = self._val, []
        if not collected or "train" not in self.pools:
            return {}
        ref_x, ref_y = (t[: self.program.knn_reference] for t in self.pools["train"])
        ref = torch.cat([self.embed(ref_x[i: i + 512]).float() for i in range(0, len(ref_x), 512)])
        emb = torch.cat([e for e, _ in collected])
        y = torch.cat([t for _, t in collected])
        nearest = torch.cdist(emb.flatten(1), ref.flatten(1)).argmin(1)
        return {"knn_accuracy": float((ref_y[nearest] == y).float().mean())}

    @torch.no_grad()
    def outputs(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"embedding": self.embed(batch[self.field])}

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.gen.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "generator" in state:
            self.gen.set_state(state["generator"].cpu() if self.gen.device.type == "cpu" else state["generator"])

