"""The segmentation program: per-pixel classification.

One step is the supervised step with the ``segmentation`` task (the plan sets it): (N, C, H, W)
logits against the (N, H, W) ``mask`` field of class indices; cross-entropy (default), ``dice``
(soft Dice over softmax probabilities) or both with weights; IoU (Jaccard), Dice and pixel
accuracy from torchmetrics, macro-averaged over the classes (background included) unless the
metric says ``micro``.
"""

from __future__ import annotations

from .supervised import Supervised


class Segmentation(Supervised):
    """The supervised step; the program adds the task, the mask target and its checks."""

    name = "segmentation"
