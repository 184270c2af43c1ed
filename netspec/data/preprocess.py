"""Preprocessing fitted on the train split only, and saved with the model.

``Preprocessor.fit(train)`` learns: one-hot categories of categorical columns, an affine scaling
of ``features`` (standardize or min-max), image resize and per-channel normalization, the padded
length of token sequences (per-token labels are padded with the ignore index), and a scaling of a
regression target. ``transform(table)`` returns ready arrays (float32 features/images, int64 tokens
with ``lengths``); ``state_dict`` holds only
plain lists and numbers, so it travels inside a checkpoint loaded with ``weights_only=True``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import torch

from ..errors import DataError
from ..spec import data as ds
from . import streaming_stats
from .jsonl_stream import PaddedRows, ragged_of, train_max_len
from .table import Table

LABELS = "target"  # a ragged field of this name holds labels per token (padded with the ignore index)


class Preprocessor:
    def __init__(self, spec: ds.Preprocess, workers: int = 0) -> None:
        self.spec = spec
        self.state: dict[str, Any] = {}
        self.workers = workers  # DataLoader workers for a pass over lazy images (normalize: auto)

    # ---- fitting -------------------------------------------------------------------------------
    def fit(self, train: Table, regression_target: bool, ignore_index: int = -100) -> "Preprocessor":
        """Fit on the train split; ``ignore_index`` pads per-token labels (the target the loss and metrics skip)."""
        s: dict[str, Any] = {"classes": train.classes, "vocab": train.vocab, "feature_names": train.feature_names}
        s["categories"] = {c: sorted(set(v.tolist())) for c, v in train.categorical.items()}
        if train.tokenizer:  # subwords: the tokenizer travels with the model (generate, export)
            s["tokenizer"] = train.tokenizer
        if streaming_stats.streams(train.fields.get("features")):  # a column cache: one streaming pass
            s["categories"], stats = streaming_stats.fit_features(train.fields["features"])
            if stats is not None:
                s["features"] = affine_of(self.spec.features, **stats)
        elif (features := self._features_raw(train, s["categories"])) is not None and len(features):
            s["features"] = _affine(self.spec.features, features)
        image = train.fields.get("image")
        if image is not None:
            s["image"] = self._fit_image(image)
        if train.ragged:
            lengths = [len(seq) for seqs in train.ragged.values() for seq in seqs]
            s["max_len"] = self.spec.sequence.max_len or max(lengths, default=1)
            if LABELS in train.ragged:
                s["label_pad"] = ignore_index
        elif ragged_of(train.fields.get("tokens"))[0] is not None:  # a streamed token cache: one pass over its offsets
            s["max_len"] = self.spec.sequence.max_len or max(train_max_len(train.fields["tokens"]), 1)
            if ragged_of(train.fields.get(LABELS))[0] is not None:
                s["label_pad"] = ignore_index
        y = train.fields.get("target")
        if regression_target and y is not None and np.issubdtype(y.dtype, np.floating) and len(y):
            s["target"] = _affine(self.spec.target, y.reshape(len(y), -1))
        self.state = s
        return self

    def _fit_image(self, image: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"resize": list(self.spec.image.resize) if self.spec.image.resize else None}
        if image.dtype == np.uint8:  # decoded images (image folders, shards): scaled and normalized on the device
            out["on_device"] = True
        norm = self.spec.image.normalize
        if norm == "auto" and out.get("on_device"):
            out["mean"], out["std"] = _channel_stats(image, out["resize"], self.workers)
        elif norm == "auto":
            x = _resize(image, out["resize"])
            mean = x.mean(axis=(0, 2, 3))
            std = x.std(axis=(0, 2, 3))
            out["mean"], out["std"] = mean.tolist(), np.where(std > 0, std, 1.0).tolist()
        elif isinstance(norm, dict):
            mean, std = norm.get("mean"), norm.get("std")
            if mean is None or std is None or len(mean) != image.shape[1] or len(std) != image.shape[1] or min(std) <= 0:
                raise DataError(f"normalize needs {{mean: [...], std: [...]}} with {image.shape[1]} value(s) each, std > 0",
                                path=("data", "preprocess", "image", "normalize"))
            out["mean"], out["std"] = list(mean), list(std)
        return out

    def _features_raw(self, table: Table, categories: dict) -> Optional[np.ndarray]:
        x = table.fields.get("features")
        if not table.categorical:
            return x
        parts = [] if x is None else [x.astype(np.float32)]
        for col, cats in categories.items():
            values = table.categorical[col]
            parts.append((values[:, None] == np.asarray(cats, dtype=object)[None, :]).astype(np.float32))
        return np.concatenate(parts, 1) if parts else None

    # ---- applying ------------------------------------------------------------------------------
    def transform(self, table: Table) -> dict[str, np.ndarray]:
        s = self.state
        out = {k: v for k, v in table.fields.items()}
        streamed = streaming_stats.streams(out.get("features"))  # a column cache: transformed batch by batch
        features = None if streamed else self._features_raw(table, s.get("categories", {}))
        if streamed:
            out["features"] = streaming_stats.transform_features(out["features"], s.get("categories", {}), s.get("features"),
                                                                 _apply)
        if features is not None:
            out["features"] = _apply(s.get("features"), features)
        if "image" in out and "image" in s and not (s["image"].get("on_device") and out["image"].dtype == np.uint8):
            img = s["image"]  # float images (or uint8 ones of a model that took floats): finished here, not on the device
            x = out["image"]
            x = np.asarray(x, np.float32) / 255.0 if x.dtype == np.uint8 else x
            x = _resize(x, img["resize"])
            if "mean" in img:
                x = (x - np.asarray(img["mean"], np.float32)[None, :, None, None]) / np.asarray(img["std"], np.float32)[None, :, None, None]
            out["image"] = x.astype(np.float32)
        for name in [k for k, v in out.items() if ragged_of(v)[0] is not None]:  # streamed token caches
            seq = self.spec.sequence
            pad = s.get("label_pad", -100) if name == LABELS else seq.pad_value
            out[name] = PaddedRows(table.fields[name], s["max_len"], pad, seq.truncate)
            if name != LABELS:
                out["lengths" if name == "tokens" else f"{name}_lengths"] = PaddedRows(table.fields[name], s["max_len"], pad,
                                                                                     seq.truncate, lengths=True)
        for name, seqs in table.ragged.items():
            if name == LABELS:  # per-token labels: padded positions carry the ignore index, not a class
                out[name] = self._pad(seqs, s.get("label_pad", -100))[0]
                continue
            out[name], out["lengths" if name == "tokens" else f"{name}_lengths"] = self._pad(seqs)
        if "target" in s and "target" in out:
            y = out["target"]
            out["target"] = _apply(s["target"], y.reshape(len(y), -1)).reshape(y.shape)
        return out

    def _pad(self, seqs: list, value: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
        n, seq = self.state["max_len"], self.spec.sequence
        out = np.full((len(seqs), n), seq.pad_value if value is None else value, np.int64)
        lengths = np.zeros(len(seqs), np.int64)
        for i, s in enumerate(seqs):
            s = s[:n] if seq.truncate == "right" else s[-n:]
            out[i, : len(s)] = s
            lengths[i] = max(len(s), 1)
        return out, lengths

    def on_device(self) -> Optional[Callable[[dict], dict]]:
        """What finishes a batch on the device (uint8 images -> resized, normalized float32), if anything."""
        img = self.state.get("image")
        return ImagePrepare(img) if img and img.get("on_device") else None

    def inverse_target(self, y: np.ndarray) -> np.ndarray:
        t = self.state.get("target")
        if t is None:
            return y
        scale, offset = np.asarray(t["scale"]), np.asarray(t["offset"])
        return ((y.reshape(len(y), -1) - offset) / scale).reshape(y.shape)

    # ---- saving ---------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return dict(self.state)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state = dict(state)


def _affine(scaler, x: np.ndarray) -> Optional[dict[str, list[float]]]:
    x = x.astype(np.float64)
    if scaler.type == "standardize":
        return affine_of(scaler, x.mean(0), x.std(0), None, None)
    if scaler.type == "minmax":
        return affine_of(scaler, None, None, x.min(0), x.max(0))
    return None


def affine_of(scaler, mean: Any = None, std: Any = None, mn: Any = None, mx: Any = None) -> Optional[dict[str, list[float]]]:
    """The saved scaling from per-column statistics (in memory, or ``streaming_stats``'s running ones)."""
    if scaler.type == "standardize":
        scale = 1.0 / np.where(std > 0, std, 1.0)
        return {"scale": scale.tolist(), "offset": (-mean * scale).tolist()}
    if scaler.type == "minmax":
        lo, hi = scaler.range
        span = np.where(mx > mn, mx - mn, 1.0)
        scale = (hi - lo) / span
        return {"scale": scale.tolist(), "offset": (lo - mn * scale).tolist()}
    return None


def _apply(affine: Optional[dict], x: np.ndarray) -> np.ndarray:
    if affine is None:
        return x.astype(np.float32)
    return (x * np.asarray(affine["scale"]) + np.asarray(affine["offset"])).astype(np.float32)


def _resize(x: np.ndarray, size: Optional[list[int]]) -> np.ndarray:
    if not size or tuple(x.shape[2:]) == tuple(size):
        return x
    import torch
    import torch.nn.functional as F

    return F.interpolate(torch.from_numpy(np.ascontiguousarray(x)), size=tuple(size), mode="bilinear",
                         align_corners=False).numpy()


class ImagePrepare:
    """uint8 (N, C, H, W) images on the device -> float32 in [0, 1], resized, normalized per channel:
    the same values the in-memory float path computes, batched where the batch already is."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.resize = tuple(state["resize"]) if state.get("resize") else None
        self.mean, self.std = state.get("mean"), state.get("std")
        self._consts: dict[Any, tuple] = {}

    def __call__(self, batch: dict) -> dict:
        x = batch.get("image")
        if x is None or x.dtype != torch.uint8:
            return batch
        x = x.float() / 255.0
        if self.resize is not None and tuple(x.shape[2:]) != self.resize:
            x = torch.nn.functional.interpolate(x, size=self.resize, mode="bilinear", align_corners=False)
        if self.mean is not None:
            mean, std = self._on(x.device)
            x = (x - mean) / std
        return {**batch, "image": x}

    def _on(self, device: Any) -> tuple:
        if device not in self._consts:
            self._consts[device] = tuple(torch.tensor(v, dtype=torch.float32, device=device)[None, :, None, None]
                                         for v in (self.mean, self.std))
        return self._consts[device]


def _channel_stats(image: Any, resize: Optional[list[int]], workers: int) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images over the train split, in one streaming pass (float64 sums)."""
    from . import progress
    from .batches import read_in_workers
    from .lazy import is_lazy

    channels = image.shape[1]
    total, squares, count = np.zeros(channels), np.zeros(channels), 0
    counter = progress.task("image statistics (normalize: auto) over the train split", len(image), "images")
    chunks = read_in_workers(image, workers, skip=True) if is_lazy(image) else [(0, image, [])]
    for _start, rows, _bad in chunks:  # a sample that cannot be read is met again (and reported) by the loader
        x = _resize(rows.astype(np.float32) / 255.0, resize).astype(np.float64)
        total += x.sum(axis=(0, 2, 3))
        squares += (x * x).sum(axis=(0, 2, 3))
        count += x.shape[0] * x.shape[2] * x.shape[3]
        counter.advance(len(rows))
    counter.done()
    mean = total / max(count, 1)
    std = np.sqrt(np.maximum(squares / max(count, 1) - mean * mean, 0.0))
    return mean.tolist(), np.where(std > 0, std, 1.0).tolist()
