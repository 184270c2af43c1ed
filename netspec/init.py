"""Applying initializers to tensors: each registered initializer (``netspec.initializers``) fills a
tensor with its own ``fill_``; torch is imported lazily so the schema stays torch-free."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .initializers import INITIALIZERS, Initializer
from .initializers.zeros import Zeros  # noqa: F401  (the compiler's default for a bias)

if TYPE_CHECKING:  # pragma: no cover
    import torch


def apply(init: Initializer, tensor: "torch.Tensor") -> None:
    """Fill ``tensor`` in place (no grad) with the given initializer; an unregistered one raises."""
    INITIALIZERS.of(init).apply(init, tensor)
