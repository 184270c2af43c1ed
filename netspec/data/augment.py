"""Image augmentation on batches of tensors (N, C, H, W), train split only.

Implemented with torch ops (torchvision is not a dependency): each transform draws per-sample
random parameters from the run's data generator, so augmentation is seeded and resumable, and
runs on the device the batch lives on, with no per-sample Python.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from ..spec import data as ds

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _u(n: int, lo: float, hi: float, like: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=like.device) * (hi - lo) + lo


def _flip(p: float, dim: int) -> Transform:
    def run(x, gen):
        mask = (torch.rand(x.shape[0], generator=gen, device=x.device) < p).view(-1, 1, 1, 1)
        return torch.where(mask, x.flip(dim), x)
    return run


def _affine(degrees: float, translate=(0.0, 0.0), scale=(1.0, 1.0), shear: float = 0.0) -> Transform:
    def run(x, gen):
        n = x.shape[0]
        angle = _u(n, -degrees, degrees, x, gen) * (math.pi / 180)
        s = _u(n, scale[0], scale[1], x, gen)
        sh = _u(n, -shear, shear, x, gen) * (math.pi / 180)
        tx = _u(n, -translate[0], translate[0], x, gen) * 2
        ty = _u(n, -translate[1], translate[1], x, gen) * 2
        cos, sin = torch.cos(angle), torch.sin(angle)
        # inverse map (output -> input coordinates), as affine_grid expects
        a, b = cos / s, (sin + torch.tan(sh) * cos) / s
        c, d = -sin / s, (cos - torch.tan(sh) * sin) / s
        theta = torch.stack([torch.stack([a, b, tx], 1), torch.stack([c, d, ty], 1)], 1).to(x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return run


def _crop(padding: int) -> Transform:
    def run(x, gen):
        n, _, h, w = x.shape
        padded = F.pad(x, (padding, padding, padding, padding))
        dy = torch.randint(0, 2 * padding + 1, (n,), generator=gen, device=x.device)
        dx = torch.randint(0, 2 * padding + 1, (n,), generator=gen, device=x.device)
        rows = (dy.view(n, 1) + torch.arange(h, device=x.device).view(1, h))  # (n, h)
        cols = (dx.view(n, 1) + torch.arange(w, device=x.device).view(1, w))  # (n, w)
        idx_r = rows.view(n, 1, h, 1).expand(n, x.shape[1], h, padded.shape[3])
        out = padded.gather(2, idx_r)
        idx_c = cols.view(n, 1, 1, w).expand(n, x.shape[1], h, w)
        return out.gather(3, idx_c)
    return run


def _gray(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 3:
        w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x * w).sum(1, keepdim=True)
    return x.mean(1, keepdim=True)


def _jitter(spec: ds.ColorJitter) -> Transform:
    def run(x, gen):
        n = x.shape[0]
        if spec.brightness:
            x = x * _u(n, 1 - spec.brightness, 1 + spec.brightness, x, gen).view(n, 1, 1, 1)
        if spec.contrast:
            mean = _gray(x).mean((1, 2, 3), keepdim=True)
            x = (x - mean) * _u(n, 1 - spec.contrast, 1 + spec.contrast, x, gen).view(n, 1, 1, 1) + mean
        if spec.saturation and x.shape[1] == 3:
            g = _gray(x)
            x = (x - g) * _u(n, 1 - spec.saturation, 1 + spec.saturation, x, gen).view(n, 1, 1, 1) + g
        if spec.hue and x.shape[1] == 3:  # rotate chroma in YIQ space
            to = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], device=x.device)
            back = torch.linalg.inv(to)
            t = _u(n, -spec.hue, spec.hue, x, gen) * 2 * math.pi
            rot = torch.zeros(n, 3, 3, device=x.device)
            rot[:, 0, 0] = 1
            rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = t.cos(), -t.sin(), t.sin(), t.cos()
            m = back @ rot @ to  # (n, 3, 3)
            x = torch.einsum("nij,njhw->nihw", m.to(x.dtype), x)
        return x
    return run


def _noise(std: float) -> Transform:
    def run(x, gen):
        return x + torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype) * std
    return run


def _erase(spec: ds.RandomErasing) -> Transform:
    def run(x, gen):
        n, _, h, w = x.shape
        area = _u(n, spec.scale[0], spec.scale[1], x, gen) * h * w
        ratio = torch.exp(_u(n, math.log(spec.ratio[0]), math.log(spec.ratio[1]), x, gen))
        eh = torch.sqrt(area * ratio).clamp(1, h).floor()
        ew = torch.sqrt(area / ratio).clamp(1, w).floor()
        top = (torch.rand(n, generator=gen, device=x.device) * (h - eh + 1)).floor()
        left = (torch.rand(n, generator=gen, device=x.device) * (w - ew + 1)).floor()
        on = torch.rand(n, generator=gen, device=x.device) < spec.p
        r = torch.arange(h, device=x.device).view(1, h, 1)
        c = torch.arange(w, device=x.device).view(1, 1, w)
        box = ((r >= top.view(n, 1, 1)) & (r < (top + eh).view(n, 1, 1)) & (c >= left.view(n, 1, 1))
               & (c < (left + ew).view(n, 1, 1)) & on.view(n, 1, 1))
        return x.masked_fill(box.unsqueeze(1), spec.value)
    return run


def build(spec) -> Transform:
    """One augmentation spec -> a transform of an image batch."""
    if isinstance(spec, ds.HFlip):
        return _flip(spec.p, -1)
    if isinstance(spec, ds.VFlip):
        return _flip(spec.p, -2)
    if isinstance(spec, ds.Rotation):
        return _affine(spec.degrees)
    if isinstance(spec, ds.Affine):
        return _affine(spec.degrees, spec.translate, spec.scale, spec.shear)
    if isinstance(spec, ds.Crop):
        return _crop(spec.padding)
    if isinstance(spec, ds.ColorJitter):
        return _jitter(spec)
    if isinstance(spec, ds.Noise):
        return _noise(spec.std)
    return _erase(spec)


class Augment:
    """The augmentation pipeline applied to the image fields of a train batch."""

    def __init__(self, specs: list, fields: list[str]) -> None:
        self.transforms = [build(s) for s in specs]
        self.fields = fields

    def __bool__(self) -> bool:
        return bool(self.transforms and self.fields)

    def __call__(self, batch: dict[str, torch.Tensor], gen: torch.Generator) -> dict[str, torch.Tensor]:
        out = dict(batch)
        for name in self.fields:
            x = out[name]
            for t in self.transforms:
                x = t(x, gen)
            out[name] = x
        return out
