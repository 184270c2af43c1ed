"""Classification losses: logits, probabilities or log-probabilities against class indices (or 0/1
targets). Multiclass, language-model and seq2seq logits with the classes on the last axis are read as
rows of one class each (``LossContext.flat``); targets equal to the ignore index count for nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Optional, Union

from pydantic import Field

from ..strict import PositiveFloat, Probability
from .base import LOSSES, Loss, LossContext, LossFn

if TYPE_CHECKING:
    import torch

BINARY = frozenset({"binary", "multilabel", "reconstruction"})
CLASSES = frozenset({"multiclass", "language_model", "seq2seq", "segmentation"})
ClassWeights = Union[Literal["auto"], list[PositiveFloat], None]


@LOSSES.register
class Bce(Loss):
    """Binary cross-entropy on probabilities (the model ends in a sigmoid)."""
    type: Literal["bce"]
    EXAMPLE = "{type: bce}"
    contract = "probabilities (K,) or () and 0/1 targets of the same shape"
    fits = BINARY
    reads_probabilities = True

    def build(self, ctx: LossContext) -> LossFn:
        from torch import nn

        from ..nn.losses import on_first

        return on_first(nn.BCELoss())


@LOSSES.register
class BceWithLogits(Loss):
    """Binary cross-entropy on logits (nn.BCEWithLogitsLoss: the sigmoid is applied inside)."""
    type: Literal["bce_with_logits"]
    pos_weight: Union[PositiveFloat, list[PositiveFloat], None] = Field(
        None, description="Weight of the positive examples (one, or one per output column).")
    EXAMPLE = "{type: bce_with_logits, pos_weight: 2.0}"
    contract = "logits (K,) or () and 0/1 targets of the same shape"
    fits = BINARY
    expects_logits = True

    def build(self, ctx: LossContext) -> LossFn:
        import torch
        from torch import nn

        from ..nn.losses import on_first

        pos = None if self.pos_weight is None else torch.tensor(self.pos_weight, dtype=torch.float32).reshape(-1)
        return on_first(nn.BCEWithLogitsLoss(pos_weight=pos))


@LOSSES.register
class CrossEntropy(Loss):
    """Softmax cross-entropy on logits; class-index or probability targets."""
    type: Literal["cross_entropy"]
    label_smoothing: Probability = Field(0.0, description="Share of the target mass spread evenly over the classes.")
    ignore_index: int = Field(-100, description="Target value that counts for nothing (padding).")
    class_weights: ClassWeights = Field(None, description="Per-class weights (default: data.class_weights).")
    EXAMPLE = "{type: cross_entropy, label_smoothing: 0.1, class_weights: [1.0, 2.0, 0.5, 1.0], ignore_index: 2}"
    contract = "logits (C,) (or (C, ...) / (L, C) per position) and class indices () or probabilities (C,)"
    fits = CLASSES
    expects_logits = True

    def build(self, ctx: LossContext) -> LossFn:
        from torch import nn

        from ..nn.losses import ModuleLoss

        module = nn.CrossEntropyLoss(weight=ctx.weight, ignore_index=self.ignore_index,
                                     label_smoothing=self.label_smoothing)
        return ModuleLoss(module, lambda o, y: ctx.flat(o[0], y))


@LOSSES.register
class Nll(Loss):
    """Negative log-likelihood on log-probabilities (the model ends in log_softmax)."""
    type: Literal["nll"]
    ignore_index: int = Field(-100, description="Target value that counts for nothing (padding).")
    class_weights: ClassWeights = Field(None, description="Per-class weights (default: data.class_weights).")
    EXAMPLE = "{type: nll, ignore_index: 1}"
    contract = "log-probabilities (C,) and class indices ()"
    fits = CLASSES

    def build(self, ctx: LossContext) -> LossFn:
        from torch import nn

        from ..nn.losses import ModuleLoss

        return ModuleLoss(nn.NLLLoss(weight=ctx.weight, ignore_index=self.ignore_index), lambda o, y: ctx.flat(o[0], y))


@LOSSES.register
class Focal(Loss):
    """Focal loss (Lin et al. 2017): −α(1−p_t)^γ log p_t, softmax for several classes, sigmoid for one logit."""
    type: Literal["focal"]
    gamma: float = Field(2.0, ge=0, description="Focusing exponent (0: cross-entropy).")
    alpha: Optional[float] = Field(None, ge=0, le=1, description="Weight of the positive class (sigmoid) / all classes.")
    EXAMPLE = "{type: focal, gamma: 2.0, alpha: 0.25}"
    contract = "logits (C,) or one logit () and class / 0-1 targets"
    fits = CLASSES | {"binary", "multilabel"}
    expects_logits = True

    def build(self, ctx: LossContext) -> LossFn:
        from ..nn.losses import fit, focal_loss

        def focal(o: tuple[torch.Tensor, ...], y: torch.Tensor) -> torch.Tensor:
            out = o[0]
            if out.dim() == 2 and out.shape[1] == 1 or (y.is_floating_point() and y.numel() == out.numel()):
                return focal_loss(out, fit(out, y, True), self.gamma, self.alpha)
            out, y = ctx.flat(out, y)
            w = ctx.weight.to(out.device) if ctx.weight is not None else None
            return focal_loss(out, y, self.gamma, self.alpha, w, ctx.ignore_index)
        return focal


@LOSSES.register
class KlDiv(Loss):
    """KL divergence; the output holds log-probabilities, the target probabilities."""
    type: Literal["kl_div"]
    log_target: bool = Field(False, description="The target holds log-probabilities too.")
    EXAMPLE = "{type: kl_div, log_target: true}"
    contract = "log-probabilities and target probabilities of the same shape"
    fits = frozenset({"multiclass", "regression"})

    def build(self, ctx: LossContext) -> LossFn:
        from torch import nn

        from ..nn.losses import on_first

        return on_first(nn.KLDivLoss(reduction="batchmean", log_target=self.log_target))


@LOSSES.register
class Hinge(Loss):
    """Multi-class margin loss (nn.MultiMarginLoss) on scores."""
    type: Literal["hinge"]
    margin: PositiveFloat = Field(1.0, description="Margin the true class's score must clear.")
    p: Literal[1, 2] = Field(1, description="1: hinge, 2: squared hinge.")
    EXAMPLE = "{type: hinge, margin: 0.5, p: 2}"
    contract = "scores (C,) and class indices ()"
    fits = frozenset({"multiclass"})

    def build(self, ctx: LossContext) -> LossFn:
        from torch import nn

        from ..nn.losses import ModuleLoss, RowMean

        per_row = nn.MultiMarginLoss(p=self.p, margin=self.margin, weight=ctx.weight, reduction="none")
        return ModuleLoss(RowMean(per_row, ctx.ignore_index), lambda o, y: ctx.flat(o[0], y))


@LOSSES.register
class Margin(Loss):
    """Hinge embedding loss (nn.HingeEmbeddingLoss): targets ±1."""
    type: Literal["margin"]
    margin: PositiveFloat = Field(1.0, description="Distance beyond which dissimilar (−1) pairs cost nothing.")
    EXAMPLE = "{type: margin, margin: 2.0}"
    contract = "distances () and targets ±1"
    fits = frozenset({"binary", "regression"})

    def build(self, ctx: LossContext) -> LossFn:
        from torch import nn

        from ..nn.losses import on_first

        return on_first(nn.HingeEmbeddingLoss(margin=self.margin))
