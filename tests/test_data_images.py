"""Image folders read lazily: decoding in the loader's workers, the ram/disk caches, samples that fail
mid-epoch, device-side normalization and bounded memory. References: Pillow decoding by hand,
NumPy statistics, the in-memory float path."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from typer.testing import CliRunner

from netspec.cli.app import app
from netspec.data import prepare_data
from netspec.data.batches import DeviceBatches, StreamBatches
from netspec.data.images import ImageCache, LazyImages, build_cache, decode
from netspec.data.lazy import Selected
from netspec.data.preprocess import ImagePrepare
from netspec.errors import DataError
from netspec.sources import SOURCES

PATH = ("data", "source")


def make_folder(root: Path, per_class: int = 6, size=(40, 48), fmt="png", seed=0) -> list[Path]:
    rng = np.random.default_rng(seed)
    files = []
    for name in ["ant", "bee", "cat"]:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            f = root / name / f"{i:03d}.{fmt}"
            Image.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8)).save(f)
            files.append(f)
    return files


def reference(file: Path, size, channels=3) -> np.ndarray:
    with Image.open(file) as im:
        im = im.convert("RGB" if channels == 3 else "L").resize((size[1], size[0]), Image.BILINEAR)
        arr = np.asarray(im, np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def source(**kw):
    return SOURCES.get("image_folder").model_validate({"type": "image_folder", "path": "img", **kw})


def test_the_folder_is_listed_not_decoded_and_rows_equal_pillow(tmp_path):
    files = make_folder(tmp_path / "img")
    table = source(size=[32, 30]).read(tmp_path, True, PATH)
    images = table.fields["image"]
    assert isinstance(images, LazyImages) and images.shape == (18, 3, 32, 30) and images.dtype == np.uint8
    assert images.nbytes == 18 * 3 * 32 * 30
    got = images[np.array([5, 0, 17])]
    want = np.stack([reference(files[i], (32, 30)) for i in (5, 0, 17)])
    np.testing.assert_array_equal(got, want)
    assert table.fields["target"].tolist() == [0] * 6 + [1] * 6 + [2] * 6


def test_jpeg_draft_decodes_near_the_full_decode(tmp_path):
    img = tmp_path / "photo.jpg"
    x = np.linspace(0, 255, 256 * 256 * 3).reshape(256, 256, 3).astype(np.uint8)
    Image.fromarray(x).save(img, quality=95)
    fast, full = decode(img, 3, (64, 64), draft=True), decode(img, 3, (64, 64), draft=False)
    assert fast.shape == full.shape == (3, 64, 64)
    assert np.abs(fast.astype(int) - full.astype(int)).mean() < 3  # a smooth image: nearly the same pixels


def test_splits_are_views_that_read_nothing(tmp_path, monkeypatch):
    make_folder(tmp_path / "img")
    table = source(size=[16, 16]).read(tmp_path, True, PATH)
    calls = []
    monkeypatch.setattr(LazyImages, "rows", lambda self, idx: calls.append(idx) or np.zeros((len(idx), 3, 16, 16), np.uint8))
    part = table.take(np.array([3, 1, 7]))
    assert isinstance(part.fields["image"], Selected) and calls == []
    part.fields["image"][np.array([2, 0])]
    assert calls[0].tolist() == [7, 3]


def test_streamed_batches_equal_the_on_device_batches(tmp_path):
    make_folder(tmp_path / "img")
    table = source(size=[16, 16]).read(tmp_path, True, PATH)
    arrays = {"image": table.fields["image"], "target": table.fields["target"]}
    prepare = ImagePrepare({"resize": [12, 12], "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3]})
    windows = [np.array([4, 2, 9]), np.array([17, 0])]
    streamed = list(StreamBatches(arrays, torch.device("cpu"), 3, num_workers=2, prepare=prepare).take(windows))
    device = DeviceBatches({"image": np.asarray(arrays["image"]), "target": arrays["target"]}, torch.device("cpu"), 3,
                           prepare=prepare)
    eager = list(device.take([torch.as_tensor(w) for w in windows]))
    for a, b in zip(streamed, eager):
        assert a["image"].dtype == torch.float32 and a["image"].shape[1:] == (3, 12, 12)
        torch.testing.assert_close(a["image"], b["image"], rtol=0, atol=0)
        assert a["target"].tolist() == b["target"].tolist()
    # reference: the float path (uint8 / 255, bilinear resize, per-channel normalization) by hand
    x = torch.as_tensor(np.asarray(arrays["image"])[[4, 2, 9]]).float() / 255
    x = torch.nn.functional.interpolate(x, size=(12, 12), mode="bilinear", align_corners=False)
    x = (x - torch.tensor([0.5, 0.4, 0.3])[None, :, None, None]) / torch.tensor([0.2, 0.25, 0.3])[None, :, None, None]
    torch.testing.assert_close(streamed[0]["image"], x)


@pytest.mark.parametrize("kind", ["ram", "disk"])
def test_the_cache_holds_the_decoded_rows(tmp_path, kind):
    make_folder(tmp_path / "img")
    images = source(size=[16, 20]).read(tmp_path, True, PATH).fields["image"]
    cache, bad = build_cache(images, kind, tmp_path / "img", workers=2, skip=False)
    assert bad == [] and isinstance(cache, ImageCache)
    np.testing.assert_array_equal(cache[np.arange(len(images))], images[np.arange(len(images))])
    if kind == "disk":
        import pickle

        assert len(pickle.dumps(cache)) < 10_000  # a worker maps the file itself: the pixels never travel
        assert cache.file.parent == tmp_path / "img" / ".netspec-cache"


def test_the_disk_cache_is_reused_and_rebuilt_when_a_file_changes(tmp_path, monkeypatch):
    files = make_folder(tmp_path / "img")
    images = source(size=[16, 16]).read(tmp_path, True, PATH).fields["image"]
    first, _ = build_cache(images, "disk", tmp_path / "img", 0, False)
    decoded = []
    real = LazyImages.rows
    monkeypatch.setattr(LazyImages, "rows", lambda self, idx: decoded.append(len(idx)) or real(self, idx))
    again, _ = build_cache(images, "disk", tmp_path / "img", 0, False)
    assert again.file == first.file and decoded == []  # nothing decoded the second time
    Image.fromarray(np.zeros((40, 48, 3), np.uint8)).save(files[0])
    os.utime(files[0], ns=(1, 1))
    changed = source(size=[16, 16]).read(tmp_path, True, PATH).fields["image"]
    rebuilt, _ = build_cache(changed, "disk", tmp_path / "img", 0, False)
    assert rebuilt.file != first.file and sum(decoded) == len(changed)
    assert rebuilt[np.array([0])].max() == 0


def truncate(file: Path) -> None:
    from netspec.data.images import header_size
    from netspec.data.lazy import SampleFault

    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])
    assert header_size(file) == (40, 48)  # the header still reads: the listing keeps it, a worker fails on it
    with pytest.raises(SampleFault):
        decode(file, 3, (16, 16))


def spec_file(tmp_path: Path, bad_samples: str = "error", **loader) -> Path:
    spec = {"netspec": 1, "name": "folder_net", "inputs": {"image": {"shape": [3, 16, 16]}},
            "model": {"layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3}}, {"relu": {}},
                                 {"adaptive_avg_pool2d": {"output_size": 1}}, {"flatten": {}},
                                 {"name": "out", "linear": {"out_features": 3}}], "outputs": ["out"]},
            "data": {"source": {"type": "image_folder", "path": "img", "size": [16, 16]}, "split": {"val": 0.2},
                     "bad_samples": bad_samples,
                     "preprocess": {"image": {"normalize": "auto"}},
                     "loader": {"on_device": False, "num_workers": 2, **loader}},
            "train": {"epochs": 2, "batch_size": 4, "optimizer": {"type": "sgd", "lr": 0.05}, "loss": "cross_entropy"}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize("how", ["streamed", "on_device", "cache"])  # a worker mid-epoch, reading whole, caching
def test_a_sample_that_fails_mid_epoch_is_a_located_error(tmp_path, how):
    files = make_folder(tmp_path / "img", fmt="jpg")
    truncate(files[4])
    spec = spec_file(tmp_path, on_device=how == "on_device")
    if how == "cache":
        data = yaml.safe_load(spec.read_text())
        data["data"]["source"]["cache"] = "disk"
        spec.write_text(yaml.safe_dump(data, sort_keys=False))
    result = CliRunner().invoke(app, ["train", str(spec), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1, result.output
    assert str(files[4]) in result.output and "cannot read the image" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("on_device", [False, True])
def test_skip_leaves_the_sample_out_counts_it_and_the_run_goes_on(tmp_path, on_device):
    files = make_folder(tmp_path / "img", fmt="jpg")
    truncate(files[4])
    truncate(files[11])
    spec = spec_file(tmp_path, {"type": "skip", "max_fraction": 0.2}, on_device=on_device)
    result = CliRunner().invoke(app, ["train", str(spec), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "left out" in result.output and "unreadable image" in result.output
    info = json.loads((tmp_path / "run" / "run_info.json").read_text())
    assert info["data_skipped"] == {str(tmp_path / "img"): {"unreadable image": 2}}
    assert (tmp_path / "run" / "last.pt").exists()


def test_more_bad_samples_than_max_fraction_stops_the_run(tmp_path):
    files = make_folder(tmp_path / "img", fmt="jpg")
    for i in (1, 4, 7, 11):  # 4 of 18 > 0.1
        truncate(files[i])
    spec = spec_file(tmp_path, {"type": "skip", "max_fraction": 0.1}, on_device=True)
    result = CliRunner().invoke(app, ["train", str(spec), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1 and "more than max_fraction 0.1" in result.output, result.output


def test_normalize_auto_of_lazy_images_equals_numpy_statistics(tmp_path):
    files = make_folder(tmp_path / "img")
    spec = yaml.safe_load(spec_file(tmp_path).read_text())
    from netspec.check import check

    checked = check(spec_file(tmp_path))
    from netspec.train.session import resolve_plan

    bundle = prepare_data(checked.spec, resolve_plan(checked), checked.graph, tmp_path)
    img = bundle.preprocessor.state["image"]
    train_rows = bundle.arrays["train"]["image"]
    assert isinstance(train_rows, Selected) and img["on_device"] is True
    index = [int(i) for i in train_rows.index]
    x = np.stack([reference(files[i], (16, 16)) for i in index]).astype(np.float32) / 255
    np.testing.assert_allclose(img["mean"], x.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(img["std"], x.std(axis=(0, 2, 3)), rtol=1e-4)
    assert spec["data"]["preprocess"]["image"]["normalize"] == "auto"


def test_predict_on_a_folder_applies_the_training_preprocessing(tmp_path):
    files = make_folder(tmp_path / "img")
    runner = CliRunner()
    assert runner.invoke(app, ["train", str(spec_file(tmp_path)), "--out", str(tmp_path / "run")]).exit_code == 0
    out = tmp_path / "pred.csv"
    result = runner.invoke(app, ["predict", str(spec_file(tmp_path)), "--checkpoint", str(tmp_path / "run"),
                                 "--input", str(tmp_path / "img"), "--output", str(out)])
    assert result.exit_code == 0, result.output
    import csv

    from netspec.checkpoint.file import load_checkpoint, run_checkpoint
    from netspec.checkpoint.rebuild import rebuild_models

    rows = list(csv.DictReader(out.open()))
    ckpt = load_checkpoint(run_checkpoint(tmp_path / "run"))
    model = rebuild_models(ckpt)["model"].eval()
    img = ckpt["preprocess"]["image"]
    x = torch.as_tensor(np.stack([reference(f, (16, 16)) for f in files])).float() / 255  # by hand, like training
    x = (x - torch.tensor(img["mean"])[None, :, None, None]) / torch.tensor(img["std"])[None, :, None, None]
    with torch.no_grad():
        logits = model(x)
    logits = logits[0] if isinstance(logits, tuple) else logits
    classes = ckpt["preprocess"]["classes"]
    label_col = next(c for c in rows[0] if c in ("label", "prediction", "class"))
    assert [r[label_col] for r in rows] == [classes[i] for i in logits.argmax(1).tolist()]


def test_reading_a_streamed_epoch_holds_one_batch_not_the_dataset(tmp_path):
    make_folder(tmp_path / "img", per_class=40, size=(64, 64))
    images = source(size=[64, 64]).read(tmp_path, True, PATH).fields["image"]
    arrays = {"image": images, "target": np.zeros(len(images), np.int64)}
    loader = StreamBatches(arrays, torch.device("cpu"), 8, num_workers=0)
    tracemalloc.start()
    for _batch in loader.epoch(None):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert images.nbytes > 1_000_000 and peak < images.nbytes / 4  # 120 images of 12 KB; a batch is 8


def test_no_class_folders_is_a_located_error(tmp_path):
    (tmp_path / "img").mkdir()
    with pytest.raises(DataError, match="no class sub-folders"):
        source().read(tmp_path, True, PATH)


def test_a_streamed_image_folder_run_resumes_bit_exact(tmp_path):
    from netspec.checkpoint import load_checkpoint
    from netspec.train.api import train_spec
    from test_train_loop import Interrupt, StopAfter

    make_folder(tmp_path / "img", per_class=8)
    spec = yaml.safe_load(spec_file(tmp_path).read_text())
    spec["data"]["augment"] = ["hflip", {"type": "random_erasing", "p": 0.5}]  # drawn from the checkpointed generator
    spec["train"]["epochs"] = 3
    path = tmp_path / "resume.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    train_spec(path, out=tmp_path / "a")
    with pytest.raises(Interrupt):
        train_spec(path, out=tmp_path / "b", reporter=StopAfter(1))
    train_spec(path, resume=tmp_path / "b")
    a = load_checkpoint(tmp_path / "a" / "last.pt")["models"]["model"]
    b = load_checkpoint(tmp_path / "b" / "last.pt")["models"]["model"]
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_a_ram_cache_larger_than_free_memory_is_refused(tmp_path, monkeypatch):
    import netspec.resources

    make_folder(tmp_path / "img")
    monkeypatch.setattr(netspec.resources, "available_bytes", lambda device: 10_000)  # 10 KB free
    spec = yaml.safe_load(spec_file(tmp_path).read_text())
    spec["data"]["source"]["cache"] = "ram"
    path = tmp_path / "ram.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    result = CliRunner().invoke(app, ["train", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1 and "cache: ram needs" in result.output and "data.source.cache" in result.output
    monkeypatch.undo()
    spec["data"]["source"]["cache"] = "disk"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    assert CliRunner().invoke(app, ["train", str(path), "--out", str(tmp_path / "run2")]).exit_code == 0
    assert list((tmp_path / "img" / ".netspec-cache").glob("images-*.u8"))
