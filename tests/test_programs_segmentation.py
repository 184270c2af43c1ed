"""The segmentation program: the generated shapes and their masks, the soft Dice loss against its
formula, IoU and Dice metrics against hand-computed values, validate's located rules, the mask
size check, and the U-Net example's stated IoU."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import EXAMPLES, run_cli
from netspec.check import check
from netspec.data.sources import load_source
from netspec.errors import DataError, NetspecError, SpecErrors
from netspec.spec.data import DataSpec
from netspec.train.api import train_spec
from netspec.train.losses import dice_loss
from netspec.train.metrics import MetricSet
from netspec.train.session import resolve_plan

EXAMPLE = EXAMPLES / "unet_shapes.yaml"


def _shapes(**source):
    return load_source(DataSpec.model_validate({"source": {"type": "shapes", **source}}).source, None, False)


def test_shapes_images_and_masks_agree():
    t = _shapes(num_samples=200, size=24, noise=0.0, seed=3)
    image, mask = t.fields["image"], t.fields["mask"]
    assert image.shape == (200, 1, 24, 24) and mask.shape == (200, 24, 24) and mask.dtype == np.int64
    assert t.classes == ["background", "circle", "rectangle", "triangle"]
    assert set(np.unique(mask)) == {0, 1, 2, 3}
    assert (image[:, 0][mask == 0] == 0).all() and (image[:, 0][mask > 0] >= 0.5).all()
    binary = _shapes(num_samples=50, classes="binary", seed=3).fields["mask"]
    assert set(np.unique(binary)) == {0, 1}


@pytest.mark.parametrize("kind", ["circle", "rectangle", "triangle"])
def test_each_kind_has_its_outline(kind):
    masks = _shapes(num_samples=40, size=48, max_shapes=1, kinds=[kind], noise=0.0, seed=1).fields["mask"]
    for m in masks:
        ys, xs = np.nonzero(m)
        box = m[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
        h, w = box.shape
        widths = box.sum(1)
        if kind == "rectangle":
            assert box.all()  # fills its bounding box
        elif kind == "circle":
            assert abs(h - w) <= 1 and abs(box.sum() / (np.pi * h * w / 4) - 1) < 0.2  # area of the inscribed disc
        else:
            assert (np.diff(widths) >= 0).all() or (np.diff(widths) <= 0).all()  # widens from apex to base
            assert abs(box.sum() / (h * w / 2) - 1) < 0.3  # half its bounding box


def _dice_reference(logits, target, smooth, include_background=True):
    p = torch.softmax(logits, 1).numpy()
    g = np.eye(logits.shape[1])[target.numpy()].transpose(0, 3, 1, 2)
    scores = [(2 * (p[:, c] * g[:, c]).sum() + smooth) / (p[:, c].sum() + g[:, c].sum() + smooth)
              for c in range(logits.shape[1])]
    return 1 - float(np.mean(scores if include_background else scores[1:]))


def test_dice_loss_matches_its_formula():
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(3, 4, 6, 5, generator=g), torch.randint(0, 4, (3, 6, 5), generator=g)
    for smooth in (0.0, 1.0):
        assert dice_loss(logits, target, smooth).item() == pytest.approx(_dice_reference(logits, target, smooth), rel=1e-5)
    assert dice_loss(logits, target, 1.0, include_background=False).item() == \
        pytest.approx(_dice_reference(logits, target, 1.0, False), rel=1e-5)
    perfect = torch.nn.functional.one_hot(target, 4).permute(0, 3, 1, 2).float() * 50
    assert dice_loss(perfect, target, 0.0).item() < 1e-6
    # ignored pixels count for no class: the loss equals the loss of the other pixels alone
    ignored = target.clone()
    ignored[:, 0] = 7
    ref = _dice_reference(logits[:, :, 1:], target[:, 1:], 1.0)
    assert dice_loss(logits, ignored, 1.0, ignore_index=7).item() == pytest.approx(ref, rel=1e-5)


def test_iou_and_dice_metrics_against_hand_computed_values():
    checked = check(EXAMPLE)
    plan = resolve_plan(checked)
    metrics = MetricSet(plan.metrics, plan, torch.device("cpu"))
    g = torch.Generator().manual_seed(1)
    logits, target = torch.randn(5, 4, 8, 8, generator=g), torch.randint(0, 4, (5, 8, 8), generator=g)
    metrics.update(logits, target)
    got = metrics.compute()
    pred = logits.argmax(1).numpy()
    y = target.numpy()
    iou = [((pred == c) & (y == c)).sum() / ((pred == c) | (y == c)).sum() for c in range(4)]
    dice = [2 * ((pred == c) & (y == c)).sum() / ((pred == c).sum() + (y == c).sum()) for c in range(4)]
    assert got["iou"] == pytest.approx(np.mean(iou), rel=1e-5)
    assert got["dice"] == pytest.approx(np.mean(dice), rel=1e-5)
    assert got["accuracy"] == pytest.approx((pred == y).mean(), rel=1e-6)


def _problems(write_spec, *changes) -> dict:
    text = EXAMPLE.read_text()
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    with pytest.raises(NetspecError) as info:
        check(write_spec(text))
    errors = info.value.errors if isinstance(info.value, SpecErrors) else [info.value]
    return {e.path: e.message for e in errors}


def test_validate_locates_segmentation_rules(write_spec):
    got = _problems(write_spec, ("conv2d: {out_channels: 4, kernel_size: 1}", "conv2d: {out_channels: 1, kernel_size: 1}"))
    assert any("(C, H, W) logits for C ≥ 2" in m for m in got.values())
    got = _problems(write_spec, ("{name: logits, conv2d: {out_channels: 4, kernel_size: 1}}",
                     "{name: logits, conv2d: {out_channels: 4, kernel_size: 1}, inputs: [up1]}"))
    assert any("the masks have the size of input 'image'" in m for m in got.values())
    got = _problems(write_spec, ("split: {val: 0.2, seed: 0}", "split: {val: 0.2, seed: 0}\n  augment: [color_jitter, hflip]"),
                    ("{type: dice, weight: 0.5}", "{type: dice, weight: 0.5, ignore_index: 255}"),
                    ("metrics: [iou, dice, accuracy]", "metrics: [iou, auroc]"))
    assert "would move the image but not its mask" in got[("data", "augment", 1)]
    assert ("data", "augment", 0) not in got
    assert "cannot carry an ignored label" in got[("train", "loss", 1, "ignore_index")]
    assert "does not fit the task (segmentation)" in got[("train", "metrics", 1)]


def test_validate_cli_locates_an_augmentation(write_spec):
    text = EXAMPLE.read_text().replace("split: {val: 0.2, seed: 0}", "split: {val: 0.2, seed: 0}\n  augment: [vflip]")
    spec = write_spec(text)
    proc = run_cli("validate", str(spec))
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "augment: [vflip]" in ln)
    assert proc.returncode == 1 and f"{spec}:{line}:" in proc.stderr and "mask" in proc.stderr


def test_masks_of_another_size_are_a_located_data_error(write_spec, tmp_path):
    text = EXAMPLE.read_text().replace("image: {shape: [1, 32, 32]}", "image: {shape: [1, 16, 16]}")
    text = text.replace("split: {val: 0.2, seed: 0}", "split: {val: 0.2, seed: 0}\n  preprocess: {image: {resize: [16, 16]}}")
    with pytest.raises(DataError, match=r"masks in field 'mask' \(train split\) are \(32, 32\)"):
        train_spec(write_spec(text), ["data.source.num_samples=50", "train.epochs=1"], out=tmp_path / "r")


def test_short_training_segments_shapes(tmp_path):
    """A short run (800 images, batches of 16, constant lr, 8 epochs: 15-30 s on one CPU core): mean
    IoU far above what predicting background everywhere gets (0.21 here)."""
    overrides = ["data.source.num_samples=800", "train.batch_size=16", "train.schedule=constant", "train.epochs=8",
                 "train.early_stopping=null"]
    result = train_spec(EXAMPLE, overrides, out=tmp_path / "run")
    assert result.metrics["val.iou"] > 0.7
    assert result.metrics["val.accuracy"] > 0.95


@pytest.mark.slow
def test_example_reaches_its_stated_iou(tmp_path):
    proc = run_cli("train", str(EXAMPLE), "--json", "--quiet", "--out", str(tmp_path / "r"), timeout=1800)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout.strip().splitlines()[-1])["metrics"]
    assert metrics["val.iou"] >= 0.85 and metrics["val.accuracy"] >= 0.97
