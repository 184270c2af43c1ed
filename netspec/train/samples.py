"""Samples from generative models: noise, image grids (PNG, with Pillow) and array files. A leaf of
the trainer (torch, numpy, errors): the GAN program and `netspec sample` (``netspec.train.sampling``)
both use it.

``image_grid(x, value_range)`` tiles (N, C, H, W) samples (C = 1 or 3) into one uint8 image with
a one-pixel border, ``ceil(sqrt(N))`` per row, each sample enlarged (nearest neighbour) to at least
32 pixels high. Values map linearly from ``value_range`` to 0…255: (−1, 1) for a tanh output,
(0, 1) for a sigmoid, otherwise the samples' own minimum and maximum.
``save_samples(x, path, value_range, labels)`` writes a grid (.png), a .npy array or a .npz
(``samples`` and, when conditional, ``labels``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from ..errors import DataError


def draw_noise(n: int, shape: Sequence[int], distribution: str, device: torch.device | str = "cpu",
               generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """N(0, 1) or U(−1, 1) noise of shape (n, *shape)."""
    size = (n, *[int(d) for d in shape])
    if distribution == "uniform":
        return torch.rand(size, generator=generator, device=device) * 2 - 1
    return torch.randn(size, generator=generator, device=device)


def is_image(shape: Sequence[int]) -> bool:
    return len(shape) == 3 and shape[0] in (1, 3)


def image_grid(x: torch.Tensor, value_range: Optional[tuple[float, float]] = None, min_size: int = 32) -> np.ndarray:
    """(N, C, H, W) -> (rows·(H'+1)+1, cols·(W'+1)+1[, 3]) uint8."""
    x = x.detach().float().cpu()
    lo, hi = value_range if value_range is not None else (float(x.min()), float(x.max()))
    x = ((x - lo) / max(hi - lo, 1e-12)).clamp(0, 1)
    n, c, h, w = x.shape
    k = max(1, math.ceil(min_size / h))
    x = x.repeat_interleave(k, dim=2).repeat_interleave(k, dim=3)
    h, w = h * k, w * k
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = torch.full((c, rows * (h + 1) + 1, cols * (w + 1) + 1), 0.5)
    for i in range(n):
        r, q = divmod(i, cols)
        grid[:, 1 + r * (h + 1): 1 + r * (h + 1) + h, 1 + q * (w + 1): 1 + q * (w + 1) + w] = x[i]
    out = (grid * 255).round().to(torch.uint8).numpy()
    return out[0] if c == 1 else out.transpose(1, 2, 0)


def save_samples(x: torch.Tensor, path: Path, value_range: Optional[tuple[float, float]] = None,
                 labels: Optional[torch.Tensor] = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".png":
        if not is_image(tuple(x.shape[1:])):
            raise DataError(f"samples of shape {tuple(x.shape[1:])} are not images (C, H, W with C = 1 or 3)",
                            path=("--output",), hint="write them to a .npy or .npz file")
        from PIL import Image

        Image.fromarray(image_grid(x, value_range)).save(path)
    elif suffix == ".npy":
        np.save(path, x.detach().float().cpu().numpy())
    elif suffix == ".npz":
        arrays = {"samples": x.detach().float().cpu().numpy()}
        if labels is not None:
            arrays["labels"] = labels.cpu().numpy()
        np.savez(path, **arrays)
    else:
        raise DataError(f"cannot write samples to {path.name}", path=("--output",), hint="give a .png, .npy or .npz file")
    return path
