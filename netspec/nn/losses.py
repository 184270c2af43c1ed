"""The torch side of the losses (``netspec.losses`` builds these): focal, contrastive and soft Dice
written from their definitions, the adapter that feeds a torch loss module, and target reshaping.

Targets are adapted to the output where the meaning is unambiguous: a (N,) target for a (N, 1)
output is viewed as (N, 1) and cast to float (binary classification, scalar regression); for the
language-model and seq2seq tasks, (N, L, V) logits and (N, L) targets are flattened to (N·L, V) and
(N·L,), and so are per-position multiclass logits (N, ..., C) (classes on the last axis: a tagger's
(N, L, C), a node classifier's (N, nodes, C)) against (N, ...) class indices. Positions whose target
is the ignore index (padding) count for nothing. Segmentation losses take (N, C, H, W) logits and
(N, H, W) masks as they are.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, cast

import torch
import torch.nn.functional as F
from torch import nn


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


def fit(output: torch.Tensor, target: torch.Tensor, floating: bool) -> torch.Tensor:
    """The target viewed as the output's shape (same element count) and, if ``floating``, cast to its dtype."""
    if target.shape != output.shape and target.numel() == output.numel():
        target = target.view_as(output)
    return target.to(output.dtype) if floating and not target.is_floating_point() else target


def positions(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits with the classes on the last axis, (N, ..., C), and their targets, as (M, C) rows: class
    indices (N, ...) become (M,), probability targets (N, ..., C) become (M, C). (N, C) stays as it is."""
    logits = out.reshape(-1, out.shape[-1])
    return logits, (y.reshape(-1) if y.dim() == out.dim() - 1 else y.reshape(-1, out.shape[-1]))


class RowMean(nn.Module):
    """A per-row loss (reduction none) averaged over the rows whose target is not ``ignore_index``
    (nn.MultiMarginLoss has no ignore_index of its own); without ignored rows, the plain mean."""

    def __init__(self, per_row: nn.Module, ignore_index: int) -> None:
        super().__init__()
        self.per_row, self.ignore_index = per_row, ignore_index

    def forward(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        keep = y != self.ignore_index
        loss = self.per_row(out, torch.where(keep, y, torch.zeros_like(y)))
        return cast(torch.Tensor, (loss * keep).sum() / keep.sum().clamp_min(1))


class ModuleLoss:
    """A torch loss module plus the adapter that turns (outputs, target) into its arguments."""

    def __init__(self, module: nn.Module, adapt: Callable[[tuple[Any, ...], Any], tuple[Any, ...]]) -> None:
        self.module, self.adapt = module, adapt

    def to(self, device: torch.device) -> "ModuleLoss":
        self.module.to(device)
        return self

    def __call__(self, outputs: tuple[Any, ...], target: Optional[torch.Tensor]) -> torch.Tensor:
        return cast(torch.Tensor, self.module.forward(*self.adapt(outputs, target)))  # a loss module has no hooks: skip _call_impl


def on_first(module: nn.Module) -> ModuleLoss:
    """``module(outputs[0], target)`` with the target viewed/cast to the output's shape and dtype."""
    return ModuleLoss(module, lambda o, y: (o[0], fit(o[0], y, True)))
