"""Losses on pairs and triplets of embeddings (the contrastive program, or a supervised model with two
or three outputs): they read ``arity`` outputs and, for pairs, a similar/dissimilar target."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..strict import PositiveFloat
from .base import LOSSES, Loss, LossContext, LossFn

EMBEDDINGS = frozenset({"regression"})


@LOSSES.register
class CosineEmbedding(Loss):
    """Two outputs x1, x2 and targets ±1 (similar / dissimilar)."""
    type: Literal["cosine_embedding"]
    margin: float = Field(0.0, ge=-1, le=1, description="Cosine similarity below which dissimilar pairs cost nothing.")
    EXAMPLE = "{type: cosine_embedding, margin: 0.2}"
    contract = "two embeddings (D,), (D,) and targets ±1"
    fits = EMBEDDINGS
    arity = 2
    pair_labels = (-1.0, 1.0)

    def build(self, ctx: LossContext) -> LossFn:
        from torch import nn

        from ..nn.losses import ModuleLoss

        return ModuleLoss(nn.CosineEmbeddingLoss(margin=self.margin),
                          lambda o, y: (o[0], o[1], y.to(o[0].dtype).reshape(-1)))


@LOSSES.register
class Triplet(Loss):
    """Three outputs: anchor, positive, negative (nn.TripletMarginLoss)."""
    type: Literal["triplet"]
    margin: PositiveFloat = Field(1.0, description="How much nearer the positive must be than the negative.")
    p: PositiveFloat = Field(2.0, description="Norm of the pairwise distance.")
    EXAMPLE = "{type: triplet, margin: 0.7, p: 1.5}"
    contract = "three embeddings (D,): anchor, positive, negative"
    fits = EMBEDDINGS
    arity = 3

    def build(self, ctx: LossContext) -> LossFn:
        from torch import nn

        from ..nn.losses import ModuleLoss

        return ModuleLoss(nn.TripletMarginLoss(margin=self.margin, p=self.p), lambda o, y: (o[0], o[1], o[2]))


@LOSSES.register
class Contrastive(Loss):
    """Two embeddings and a 1 (similar) / 0 (dissimilar) target: y·d² + (1−y)·max(0, margin − d)²."""
    type: Literal["contrastive"]
    margin: PositiveFloat = Field(1.0, description="Distance beyond which dissimilar pairs cost nothing.")
    EXAMPLE = "{type: contrastive, margin: 3.0}"
    contract = "two embeddings (D,), (D,) and targets 1 (similar) / 0"
    fits = EMBEDDINGS
    arity = 2
    pair_labels = (0.0, 1.0)

    def build(self, ctx: LossContext) -> LossFn:
        from ..nn.losses import contrastive_loss

        return lambda o, y: contrastive_loss(o[0], o[1], y, self.margin)
