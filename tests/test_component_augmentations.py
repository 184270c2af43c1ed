"""Registry-wide: every registered augmentation, built from its EXAMPLE, transforms a batch exactly
as a per-sample reference written with plain torch ops does from the same generator draws (the
augmentation itself is vectorized over the batch). A new augmentation without a reference case
here fails ``test_every_augmentation_has_a_reference``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pydantic import TypeAdapter, ValidationError

from netspec.augmentations import AUGMENTATIONS
from netspec.data.augment import Augment, build
from netspec.registry import UnknownComponent
from netspec.source import load_text
from netspec.spec.data import Augmentation

N, C, H, W = 6, 3, 10, 12
ADAPTER = TypeAdapter(Augmentation)


def draws(gen: torch.Generator, k: int, n: int = N) -> list[torch.Tensor]:
    """The k uniform draws of n values an augmentation makes, in its order."""
    return [torch.rand(n, generator=gen) for _ in range(k)]


def u(r: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    return r * (hi - lo) + lo


def ref_flip(dim):
    def ref(aug, x, gen):
        (r,) = draws(gen, 1)
        return torch.stack([xi.flip(dim) if ri < aug.p else xi for xi, ri in zip(x, r)])
    return ref


def sample_affine(xi, lin, t):
    theta = torch.cat([lin, t.view(2, 1)], 1)[None].to(xi.dtype)
    grid = F.affine_grid(theta, [1, *xi.shape], align_corners=False)
    return F.grid_sample(xi[None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0]


def ref_affine(aug, x, gen):
    degrees, translate, scale, shear = (aug.degrees, (0.0, 0.0), (1.0, 1.0), 0.0) if aug.type == "rotation" else (
        aug.degrees, aug.translate, aug.scale, aug.shear)
    ra, rs, rh, rx, ry = draws(gen, 5)
    out = []
    for i, xi in enumerate(x):
        a = float(u(ra[i], -degrees, degrees)) * math.pi / 180
        s = float(u(rs[i], *scale))
        k = math.tan(float(u(rh[i], -shear, shear)) * math.pi / 180)
        rot = torch.tensor([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
        lin = rot @ torch.tensor([[1.0, k], [0.0, 1.0]]) / s  # output -> input: rotation after shear, over scale
        t = torch.stack([u(rx[i], -translate[0], translate[0]), u(ry[i], -translate[1], translate[1])]) * 2
        out.append(sample_affine(xi, lin, t))
    return torch.stack(out)


def ref_crop(aug, x, gen):
    p = aug.padding
    dy = torch.randint(0, 2 * p + 1, (N,), generator=gen)
    dx = torch.randint(0, 2 * p + 1, (N,), generator=gen)
    return torch.stack([F.pad(xi, (p, p, p, p))[:, a:a + H, b:b + W] for xi, a, b in zip(x, dy.tolist(), dx.tolist())])


LUMA = torch.tensor([0.299, 0.587, 0.114])
YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def ref_jitter(aug, x, gen):
    rb, rc, rs, rh = draws(gen, 4)
    out = []
    for i, xi in enumerate(x):
        xi = xi * u(rb[i], 1 - aug.brightness, 1 + aug.brightness)
        mean = torch.einsum("c,chw->hw", LUMA, xi).mean()
        xi = (xi - mean) * u(rc[i], 1 - aug.contrast, 1 + aug.contrast) + mean
        g = torch.einsum("c,chw->hw", LUMA, xi)
        xi = (xi - g) * u(rs[i], 1 - aug.saturation, 1 + aug.saturation) + g
        t = float(u(rh[i], -aug.hue, aug.hue)) * 2 * math.pi
        rot = torch.tensor([[1.0, 0, 0], [0, math.cos(t), -math.sin(t)], [0, math.sin(t), math.cos(t)]])
        xi = torch.einsum("ij,jhw->ihw", torch.linalg.inv(YIQ) @ rot @ YIQ, xi)
        out.append(xi)
    return torch.stack(out)


def ref_noise(aug, x, gen):
    return x + torch.randn(x.shape, generator=gen) * aug.std


def ref_erasing(aug, x, gen):
    ra, rr, rt, rl, ron = draws(gen, 5)
    out = x.clone()
    for i in range(N):
        area = u(ra[i], *aug.scale) * H * W
        ratio = math.exp(float(u(rr[i], math.log(aug.ratio[0]), math.log(aug.ratio[1]))))
        eh = int(min(max(math.sqrt(area * ratio), 1), H))
        ew = int(min(max(math.sqrt(area / ratio), 1), W))
        top, left = int(rt[i] * (H - eh + 1)), int(rl[i] * (W - ew + 1))
        if ron[i] < aug.p:
            out[i, :, top:top + eh, left:left + ew] = aug.value
    return out


def ref_blur(aug, x, gen):
    from scipy import ndimage

    (r,) = draws(gen, 1)
    offsets = np.arange(aug.kernel_size) - (aug.kernel_size - 1) / 2
    g = np.exp(-offsets ** 2 / (2 * aug.sigma ** 2))
    kernel = np.outer(g, g) / g.sum() ** 2
    out = x.numpy().copy()
    for i in range(N):
        if r[i] < aug.p:
            for c in range(C):  # scipy's "mirror" reflects about the edge pixel, like torch's "reflect" padding
                out[i, c] = ndimage.correlate(out[i, c].astype(np.float64), kernel, mode="mirror")
    return torch.from_numpy(out)


#: tag -> reference (augmentation, batch, generator) -> the augmented batch
REFERENCE = {
    "hflip": ref_flip(-1),
    "vflip": ref_flip(-2),
    "rotation": ref_affine,
    "crop": ref_crop,
    "affine": ref_affine,
    "color_jitter": ref_jitter,
    "noise": ref_noise,
    "random_erasing": ref_erasing,
    "gaussian_blur": ref_blur,
}
TAGS = AUGMENTATIONS.tags()


def from_example(tag: str):
    data, _ = load_text(AUGMENTATIONS.get(tag).EXAMPLE)
    return ADAPTER.validate_python(data)


def batch() -> torch.Tensor:
    return torch.rand(N, C, H, W, generator=torch.Generator().manual_seed(1))


def test_every_augmentation_has_a_reference():
    assert set(REFERENCE) == set(TAGS)


@pytest.mark.parametrize("tag", TAGS)
def test_example_matches_reference(tag):
    aug = from_example(tag)
    assert aug.type == tag and type(aug) is AUGMENTATIONS.get(tag)
    x = batch()
    got = build(aug)(x, torch.Generator().manual_seed(0))
    want = REFERENCE[tag](aug, x, torch.Generator().manual_seed(0))
    assert got.shape == x.shape and got.dtype == x.dtype
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert not torch.equal(got, x)  # the example changes the batch


@pytest.mark.parametrize("tag", TAGS)
def test_geometric_is_declared(tag):
    assert isinstance(AUGMENTATIONS.get(tag).geometric, bool)


@pytest.mark.parametrize("tag", ["hflip", "vflip"])
def test_flip_with_every_draw_under_p(tag):
    aug = ADAPTER.validate_python({"type": tag, "p": 0.999999})
    gen = torch.Generator().manual_seed(0)
    assert (torch.rand(N, generator=torch.Generator().manual_seed(0)) < 0.999999).all()
    x = batch()
    assert torch.equal(build(aug)(x, gen), x.flip(-1 if tag == "hflip" else -2))


def test_zero_rotation_is_the_identity():
    x = batch()
    torch.testing.assert_close(build(ADAPTER.validate_python({"type": "rotation", "degrees": 0}))(x, torch.Generator()), x)


def test_blur_keeps_a_constant_image_and_spreads_an_impulse_as_the_kernel():
    blur = build(ADAPTER.validate_python({"type": "gaussian_blur", "kernel_size": 3, "sigma": 0.8, "p": 1.0}))
    flat = torch.full((2, 1, 7, 7), 0.25)
    torch.testing.assert_close(blur(flat, torch.Generator()), flat)
    impulse = torch.zeros(1, 1, 7, 7)
    impulse[0, 0, 3, 3] = 1.0
    g = torch.exp(-torch.tensor([-1.0, 0.0, 1.0]) ** 2 / (2 * 0.8 ** 2))
    torch.testing.assert_close(blur(impulse, torch.Generator())[0, 0, 2:5, 2:5], torch.outer(g, g) / g.sum() ** 2)


def test_blur_with_p_zero_is_the_identity_and_an_even_kernel_is_refused():
    x = batch()
    assert torch.equal(build(ADAPTER.validate_python({"type": "gaussian_blur", "p": 0.0}))(x, torch.Generator()), x)
    with pytest.raises(ValidationError, match="kernel_size must be odd"):
        ADAPTER.validate_python({"type": "gaussian_blur", "kernel_size": 4})


def test_pipeline_augments_the_image_fields_only():
    x, y = batch(), torch.arange(N)
    out = Augment([from_example("noise")], ["image"])({"image": x, "target": y}, torch.Generator().manual_seed(0))
    assert out["target"] is y and not torch.equal(out["image"], x)


def test_unknown_tag_raises():
    with pytest.raises(UnknownComponent, match="did you mean 'hflip'"):
        AUGMENTATIONS.get("hfilp")
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"type": "no_such_augmentation"})
