"""Loss functions from the spec: torch.nn losses where PyTorch has them, focal and contrastive
written here from their definitions. ``build_loss`` returns ``fn(outputs, target) -> scalar``;
``outputs`` is the tuple of model outputs the loss is bound to.

Targets are adapted to the output where the meaning is unambiguous: a (N,) target for a (N, 1)
output is viewed as (N, 1) and cast to float (binary classification, scalar regression); for the
language-model and seq2seq tasks, (N, L, V) logits and (N, L) targets are flattened to (N·L, V) and
(N·L,). Segmentation losses take (N, C, H, W) logits and (N, H, W) masks as they are; ``dice_loss``
is the soft Dice loss over softmax probabilities.
"""

from __future__ import annotations

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


def build_loss(spec: Any, mode: str, class_weights: Optional[torch.Tensor] = None) -> LossFn:
    t = spec.type
    weight = class_weights if getattr(spec, "class_weights", None) is None or spec.class_weights == "auto" else \
        torch.tensor(spec.class_weights, dtype=torch.float32)
    lm = mode in ("language_model", "seq2seq")  # (N, L, V) logits, (N, L) targets

    def flat(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (out.reshape(-1, out.shape[-1]), y.reshape(-1)) if lm else (out, y)

    if t in ("mse", "mae", "huber", "smooth_l1", "bce", "bce_with_logits", "margin", "kl_div"):
        module = {
            "mse": lambda: nn.MSELoss(), "mae": lambda: nn.L1Loss(), "huber": lambda: nn.HuberLoss(delta=spec.delta),
            "smooth_l1": lambda: nn.SmoothL1Loss(beta=spec.beta), "bce": lambda: nn.BCELoss(),
            "bce_with_logits": lambda: nn.BCEWithLogitsLoss(pos_weight=None if spec.pos_weight is None else
                                                            torch.tensor(spec.pos_weight, dtype=torch.float32).reshape(-1)),
            "margin": lambda: nn.HingeEmbeddingLoss(margin=spec.margin),
            "kl_div": lambda: nn.KLDivLoss(reduction="batchmean", log_target=spec.log_target),
        }[t]()
        return _Module(module, lambda o, y: (o[0], _fit(o[0], y, True)))
    if t in ("cross_entropy", "nll"):
        cls = nn.CrossEntropyLoss if t == "cross_entropy" else nn.NLLLoss
        kw = {"label_smoothing": spec.label_smoothing} if t == "cross_entropy" else {}
        module = cls(weight=weight, ignore_index=spec.ignore_index, **kw)
        return _Module(module, lambda o, y: flat(o[0], y))
    if t == "focal":
        ignore = getattr(spec, "ignore_index", -100)

        def focal(o, y):
            out = o[0]
            if out.dim() == 2 and out.shape[1] == 1 or (y.is_floating_point() and y.numel() == out.numel()):
                return focal_loss(out, _fit(out, y, True), spec.gamma, spec.alpha)
            out, y = flat(out, y)
            w = weight.to(out.device) if weight is not None else None
            return focal_loss(out, y, spec.gamma, spec.alpha, w, ignore)
        return focal
    if t == "dice":
        return lambda o, y: dice_loss(o[0], y, spec.smooth, spec.include_background, spec.ignore_index)
    if t == "hinge":
        module = nn.MultiMarginLoss(p=spec.p, margin=spec.margin, weight=weight)
        return _Module(module, lambda o, y: (o[0], y))
    if t == "cosine_embedding":
        module = nn.CosineEmbeddingLoss(margin=spec.margin)
        return _Module(module, lambda o, y: (o[0], o[1], y.to(o[0].dtype).reshape(-1)))
    if t == "triplet":
        module = nn.TripletMarginLoss(margin=spec.margin, p=spec.p)
        return _Module(module, lambda o, y: (o[0], o[1], o[2]))
    return lambda o, y: contrastive_loss(o[0], o[1], y, spec.margin)


class _Module:
    """A torch loss module plus the adapter that turns (outputs, target) into its arguments."""

    def __init__(self, module: nn.Module, adapt: Callable) -> None:
        self.module, self.adapt = module, adapt

    def to(self, device: torch.device) -> "_Module":
        self.module.to(device)
        return self

    def __call__(self, outputs: tuple, target: Optional[torch.Tensor]) -> torch.Tensor:
        return self.module.forward(*self.adapt(outputs, target))  # a loss module has no hooks: skip _call_impl
