"""Loss functions from the spec: torch.nn losses where PyTorch has them, focal and contrastive
written here from their definitions. ``build_loss`` returns ``fn(outputs, target) -> scalar`` from
the builder of the spec's type (``BUILDERS``: one per loss class; an unknown type raises);
``outputs`` is the tuple of model outputs the loss is bound to.

Targets are adapted to the output where the meaning is unambiguous: a (N,) target for a (N, 1)
output is viewed as (N, 1) and cast to float (binary classification, scalar regression); for the
language-model and seq2seq tasks, (N, L, V) logits and (N, L) targets are flattened to (N·L, V) and
(N·L,), and so are per-position multiclass logits (N, ..., C) (classes on the last axis: a tagger's
(N, L, C), a node classifier's (N, nodes, C)) against (N, ...) class indices. Positions whose target
is the ignore index (padding) count for nothing. Segmentation losses take (N, C, H, W) logits and
(N, H, W) masks as they are; ``dice_loss`` is the soft Dice loss over softmax probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

LossFn = Callable[[tuple, Optional[torch.Tensor]], torch.Tensor]


def focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float, alpha: Optional[float],
               weight: Optional[torch.Tensor] = None, ignore_index: int = -100) -> torch.Tensor:
    """Mean focal loss. One logit per sample (or a float target of the logits' shape): sigmoid form;
    otherwise softmax over dim 1 with class-index targets."""
    if logits.shape == target.shape and target.is_floating_point():
        p = torch.sigmoid(logits)
        ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        p_t = p * target + (1 - p) * (1 - target)
        loss = ce * (1 - p_t) ** gamma
        if alpha is not None:
            loss = loss * (alpha * target + (1 - alpha) * (1 - target))
        return loss.mean()
    logp = F.log_softmax(logits, dim=1)
    keep = target != ignore_index
    safe = torch.where(keep, target, torch.zeros_like(target))
    logp_t = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    loss = -((1 - logp_t.exp()) ** gamma) * logp_t
    if alpha is not None:
        loss = loss * alpha
    if weight is not None:
        w = weight[safe] * keep
        return (loss * w).sum() / w.sum().clamp_min(1e-12)
    return (loss * keep).sum() / keep.sum().clamp_min(1)


def contrastive_loss(x1: torch.Tensor, x2: torch.Tensor, target: torch.Tensor, margin: float) -> torch.Tensor:
    """Hadsell et al. 2006: y·d² + (1−y)·max(0, margin − d)², y = 1 for similar pairs; mean over pairs."""
    d = F.pairwise_distance(x1, x2)
    y = target.to(d.dtype).view_as(d)
    return (y * d.pow(2) + (1 - y) * F.relu(margin - d).pow(2)).mean()


def dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0, include_background: bool = True,
              ignore_index: int = -100) -> torch.Tensor:
    """Soft Dice loss: 1 − mean over classes c of (2·Σ p_c·g_c + smooth) / (Σ p_c + Σ g_c + smooth), sums over
    all pixels of the batch; p = softmax over dim 1 of (N, C, ...) logits, g = one-hot of the (N, ...) target."""
    probs = torch.softmax(logits.float(), dim=1)
    keep = (target != ignore_index).unsqueeze(1)
    safe = torch.where(keep.squeeze(1), target, torch.zeros_like(target))
    onehot = F.one_hot(safe, probs.shape[1]).movedim(-1, 1).to(probs.dtype) * keep
    probs = probs * keep
    dims = (0,) + tuple(range(2, probs.dim()))
    inter, total = (probs * onehot).sum(dims), probs.sum(dims) + onehot.sum(dims)
    dice = (2 * inter + smooth) / (total + smooth).clamp_min(1e-12)
    return 1 - (dice if include_background else dice[1:]).mean()


def _fit(output: torch.Tensor, target: torch.Tensor, floating: bool) -> torch.Tensor:
    if target.shape != output.shape and target.numel() == output.numel():
        target = target.view_as(output)
    return target.to(output.dtype) if floating and not target.is_floating_point() else target


def positions(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits with the classes on the last axis, (N, ..., C), and their targets, as (M, C) rows: class
    indices (N, ...) become (M,), probability targets (N, ..., C) become (M, C). (N, C) stays as it is."""
    logits = out.reshape(-1, out.shape[-1])
    return logits, (y.reshape(-1) if y.dim() == out.dim() - 1 else y.reshape(-1, out.shape[-1]))


@dataclass
class LossContext:
    """What a builder needs besides the loss spec: the task mode, class weights (data or loss), and the
    label that marks positions no loss counts (padding of per-position targets)."""
    mode: str
    weight: Optional[torch.Tensor]
    ignore_index: int

    def flat(self, out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits as rows: (N, L, V) for language models and seq2seq, (N, ..., C) per position for
        multiclass classification (classes on the last axis); other modes as they are."""
        return positions(out, y) if self.mode in ("language_model", "seq2seq", "multiclass") else (out, y)


def _module_loss(make: Callable[[Any], nn.Module]) -> Callable[[Any, LossContext], LossFn]:
    """A torch loss module on (output, target) with the target viewed/cast to the output's shape and dtype."""
    return lambda spec, ctx: _Module(make(spec), lambda o, y: (o[0], _fit(o[0], y, True)))


def _bce_with_logits(spec: Any) -> nn.Module:
    pos = None if spec.pos_weight is None else torch.tensor(spec.pos_weight, dtype=torch.float32).reshape(-1)
    return nn.BCEWithLogitsLoss(pos_weight=pos)


def _cross_entropy(spec: Any, ctx: LossContext) -> LossFn:
    module = nn.CrossEntropyLoss(weight=ctx.weight, ignore_index=spec.ignore_index, label_smoothing=spec.label_smoothing)
    return _Module(module, lambda o, y: ctx.flat(o[0], y))


def _nll(spec: Any, ctx: LossContext) -> LossFn:
    return _Module(nn.NLLLoss(weight=ctx.weight, ignore_index=spec.ignore_index), lambda o, y: ctx.flat(o[0], y))


def _focal(spec: Any, ctx: LossContext) -> LossFn:
    ignore = getattr(spec, "ignore_index", ctx.ignore_index)

    def focal(o, y):
        out = o[0]
        if out.dim() == 2 and out.shape[1] == 1 or (y.is_floating_point() and y.numel() == out.numel()):
            return focal_loss(out, _fit(out, y, True), spec.gamma, spec.alpha)
        out, y = ctx.flat(out, y)
        w = ctx.weight.to(out.device) if ctx.weight is not None else None
        return focal_loss(out, y, spec.gamma, spec.alpha, w, ignore)
    return focal


def _hinge(spec: Any, ctx: LossContext) -> LossFn:
    per_row = nn.MultiMarginLoss(p=spec.p, margin=spec.margin, weight=ctx.weight, reduction="none")
    return _Module(_RowMean(per_row, ctx.ignore_index), lambda o, y: ctx.flat(o[0], y))


class _RowMean(nn.Module):
    """A per-row loss (reduction none) averaged over the rows whose target is not ``ignore_index``
    (nn.MultiMarginLoss has no ignore_index of its own); without ignored rows, the plain mean."""

    def __init__(self, per_row: nn.Module, ignore_index: int) -> None:
        super().__init__()
        self.per_row, self.ignore_index = per_row, ignore_index

    def forward(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        keep = y != self.ignore_index
        loss = self.per_row(out, torch.where(keep, y, torch.zeros_like(y)))
        return (loss * keep).sum() / keep.sum().clamp_min(1)


def _dice(spec: Any, ctx: LossContext) -> LossFn:
    return lambda o, y: dice_loss(o[0], y, spec.smooth, spec.include_background, spec.ignore_index)


def _cosine_embedding(spec: Any, ctx: LossContext) -> LossFn:
    module = nn.CosineEmbeddingLoss(margin=spec.margin)
    return _Module(module, lambda o, y: (o[0], o[1], y.to(o[0].dtype).reshape(-1)))


def _triplet(spec: Any, ctx: LossContext) -> LossFn:
    return _Module(nn.TripletMarginLoss(margin=spec.margin, p=spec.p), lambda o, y: (o[0], o[1], o[2]))


def _contrastive(spec: Any, ctx: LossContext) -> LossFn:
    return lambda o, y: contrastive_loss(o[0], o[1], y, spec.margin)


#: loss type (the ``type`` of each member of ``netspec.spec.train.Loss``) -> builder(spec, context)
BUILDERS: dict[str, Callable[[Any, LossContext], LossFn]] = {
    "mse": _module_loss(lambda s: nn.MSELoss()),
    "mae": _module_loss(lambda s: nn.L1Loss()),
    "huber": _module_loss(lambda s: nn.HuberLoss(delta=s.delta)),
    "smooth_l1": _module_loss(lambda s: nn.SmoothL1Loss(beta=s.beta)),
    "bce": _module_loss(lambda s: nn.BCELoss()),
    "bce_with_logits": _module_loss(_bce_with_logits),
    "margin": _module_loss(lambda s: nn.HingeEmbeddingLoss(margin=s.margin)),
    "kl_div": _module_loss(lambda s: nn.KLDivLoss(reduction="batchmean", log_target=s.log_target)),
    "cross_entropy": _cross_entropy,
    "nll": _nll,
    "focal": _focal,
    "hinge": _hinge,
    "dice": _dice,
    "cosine_embedding": _cosine_embedding,
    "triplet": _triplet,
    "contrastive": _contrastive,
}


def build_loss(spec: Any, mode: str, class_weights: Optional[torch.Tensor] = None, ignore_index: int = -100) -> LossFn:
    """``fn(outputs, target)`` for a loss spec; ``class_weights`` apply unless the spec gives its own;
    ``ignore_index`` marks the targets of positions that count for no loss that has no ``ignore_index`` of
    its own (focal, hinge). An unknown type is an error, never a fall-through."""
    builder = BUILDERS.get(spec.type)
    if builder is None:
        raise ValueError(f"no builder for loss type {spec.type!r} (known: {', '.join(sorted(BUILDERS))})")
    own = getattr(spec, "class_weights", None)
    weight = class_weights if own is None or own == "auto" else torch.tensor(own, dtype=torch.float32)
    return builder(spec, LossContext(mode, weight, ignore_index))


class _Module:
    """A torch loss module plus the adapter that turns (outputs, target) into its arguments."""

    def __init__(self, module: nn.Module, adapt: Callable) -> None:
        self.module, self.adapt = module, adapt

    def to(self, device: torch.device) -> "_Module":
        self.module.to(device)
        return self

    def __call__(self, outputs: tuple, target: Optional[torch.Tensor]) -> torch.Tensor:
        return self.module.forward(*self.adapt(outputs, target))  # a loss module has no hooks: skip _call_impl
