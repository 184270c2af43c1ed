"""Data: splits, preprocessing fitted on the train split only, augmentation, sources, batching."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from netspec.data.augment import Augment
from netspec.data.batches import DeviceBatches
from netspec.data.preprocess import Preprocessor
from netspec.data.sources import generated_table, sklearn_table
from netspec.data.split import split_table
from netspec.errors import DataError
from netspec.spec.data import DataSpec


def _data(**kw) -> DataSpec:
    return DataSpec.model_validate({"source": {"type": "sklearn", "name": "digits"}, **kw})


def test_stratified_seeded_ratio_split():
    d = _data(split={"val": 0.2, "test": 0.1, "seed": 5})
    table = sklearn_table(d.source)
    a = split_table(d.split, table, None)
    b = split_table(d.split, table, None)
    assert [len(a[k]) for k in ("train", "val", "test")] == [1258, 359, 180]
    assert np.array_equal(a["val"].fields["target"], b["val"].fields["target"])
    counts = np.bincount(a["val"].fields["target"], minlength=10) / 359
    overall = np.bincount(table.fields["target"], minlength=10) / len(table)
    assert np.abs(counts - overall).max() < 0.01
    c = split_table(_data(split={"val": 0.2, "test": 0.1, "seed": 6}).split, table, None)
    assert not np.array_equal(a["val"].fields["features"], c["val"].fields["features"])


def test_kfold_folds_partition_the_data():
    table = sklearn_table(_data().source)
    seen = []
    for fold in range(3):
        d = _data(split={"type": "kfold", "k": 3, "fold": fold})
        s = split_table(d.split, table, None)
        assert len(s["train"]) + len(s["val"]) == len(table)
        seen.append(s["val"].fields["features"])
    assert sum(len(v) for v in seen) == len(table)


def test_preprocessing_fits_on_train_only_and_round_trips_through_json():
    d = _data(preprocess={"features": {"type": "minmax", "range": [-1, 1]}})
    table = sklearn_table(d.source)
    train, val = table.take(np.arange(0, 1000)), table.take(np.arange(1000, 1797))
    pre = Preprocessor(d.preprocess).fit(train, regression_target=False)
    out = pre.transform(train)["features"]
    assert out.min() == pytest.approx(-1) and out.max() == pytest.approx(1)
    x = train.fields["features"]
    span = np.where(x.max(0) > x.min(0), x.max(0) - x.min(0), 1)
    want = (val.fields["features"] - x.min(0)) / span * 2 - 1
    assert np.allclose(pre.transform(val)["features"], want, atol=1e-5)
    again = Preprocessor(d.preprocess)
    again.load_state_dict(json.loads(json.dumps(pre.state_dict())))
    assert np.array_equal(again.transform(val)["features"], pre.transform(val)["features"])


def test_standardize_and_sequence_padding():
    d = DataSpec.model_validate({"source": {"type": "generated", "kind": "linear"}, "preprocess": {"sequence": {"max_len": 3}}})
    from netspec.data.table import Table

    t = Table(ragged={"tokens": [np.array([1, 2]), np.array([3, 4, 5, 6])]})
    pre = Preprocessor(d.preprocess).fit(t, False)
    out = pre.transform(t)
    assert out["tokens"].tolist() == [[1, 2, 0], [3, 4, 5]] and out["lengths"].tolist() == [2, 3]
    lin = generated_table(d.source)
    z = Preprocessor(d.preprocess).fit(lin, True).transform(lin)["features"]
    assert np.allclose(z.mean(0), 0, atol=1e-5) and np.allclose(z.std(0), 1, atol=1e-4)


def test_augmentation_is_seeded_shape_preserving_and_does_something():
    x = torch.rand(16, 3, 8, 8)
    specs = DataSpec.model_validate({"source": {"type": "generated", "kind": "images"},
                                     "augment": ["hflip", "vflip", {"type": "rotation", "degrees": 20}, "crop",
                                                 {"type": "affine", "translate": [0.1, 0.1], "scale": [0.9, 1.1], "shear": 5},
                                                 {"type": "color_jitter", "brightness": 0.2, "contrast": 0.2,
                                                  "saturation": 0.2, "hue": 0.05}, "noise", "random_erasing"]}).augment
    aug = Augment(specs, ["image"])
    a = aug({"image": x}, torch.Generator().manual_seed(0))["image"]
    b = aug({"image": x}, torch.Generator().manual_seed(0))["image"]
    c = aug({"image": x}, torch.Generator().manual_seed(1))["image"]
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, x)
    flip = Augment(DataSpec.model_validate({"source": {"type": "generated", "kind": "images"},
                                            "augment": [{"type": "hflip", "p": 0.99}]}).augment, ["image"])
    y = flip({"image": x}, torch.Generator().manual_seed(0))["image"]
    assert torch.equal(y, x.flip(-1))


def test_device_batches_cover_each_sample_once_and_weighted_sampling_balances():
    arrays = {"x": np.arange(10, dtype=np.float32)[:, None], "target": np.array([0] * 8 + [1] * 2)}
    b = DeviceBatches(arrays, torch.device("cpu"), 4, mode="shuffle")
    seen = torch.cat([batch["x"][:, 0] for batch in b.epoch(torch.Generator().manual_seed(0))])
    assert sorted(seen.tolist()) == list(range(10)) and len(b) == 3
    w = 1.0 / np.bincount(arrays["target"])[arrays["target"]]
    wb = DeviceBatches({k: np.tile(v, (100,) + (1,) * (v.ndim - 1)) for k, v in arrays.items()}, torch.device("cpu"),
                       50, mode="weighted", weights=np.tile(w, 100))
    labels = torch.cat([batch["target"] for batch in wb.epoch(torch.Generator().manual_seed(0))]).float()
    assert 0.4 < labels.mean() < 0.6


def test_image_folder_and_missing_folder(tmp_path):
    from PIL import Image

    from netspec.data.readers import image_folder
    from netspec.sources.image_folder import ImageFolder

    for k, name in enumerate(["cat", "dog"]):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(np.full((6, 5, 3), 40 * (k + i), np.uint8)).save(tmp_path / name / f"{i}.png")
    spec = ImageFolder(type="image_folder", path=".", size=[4, 4], channels=1)
    t = image_folder(spec, tmp_path, ("data", "source"))
    assert t.fields["image"].shape == (6, 1, 4, 4) and t.classes == ["cat", "dog"]
    assert t.fields["target"].tolist() == [0, 0, 0, 1, 1, 1]
    from netspec.data.sources import load_source as read

    with pytest.raises(DataError) as err:
        read(spec.model_copy(update={"path": "nope"}), tmp_path, True, ("data", "source"))
    assert err.value.path == ("data", "source", "path")
