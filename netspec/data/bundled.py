"""Readers of the sources without files: scikit-learn's bundled datasets (``sklearn``) and
procedurally generated data (``generated``), called by those source classes' ``read``
(``netspec.sources``). Problems are DataErrors located at the source.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .table import Table


def sklearn_table(source) -> Table:
    from sklearn import datasets

    loader = {"digits": datasets.load_digits, "iris": datasets.load_iris, "wine": datasets.load_wine,
              "breast_cancer": datasets.load_breast_cancer, "diabetes": datasets.load_diabetes}[source.name]
    bunch = loader()
    x = np.asarray(bunch.data, dtype=np.float32)
    regression = source.name == "diabetes"
    y = np.asarray(bunch.target, dtype=np.float32 if regression else np.int64)
    names = [str(n) for n in getattr(bunch, "feature_names", [])] or None
    classes = None if regression else [str(c) for c in getattr(bunch, "target_names", np.unique(y))]
    if source.images:
        if source.name != "digits":
            raise DataError("`images: true` is only for digits (8×8 images)", path=("data", "source", "images"))
        return Table({"image": x.reshape(-1, 1, 8, 8), "target": y}, classes=classes)
    return Table({"features": x, "target": y}, classes=classes, feature_names=names)


def generated_table(g) -> Table:
    rng = np.random.default_rng(g.seed)
    n = g.num_samples
    if g.kind == "blobs":
        centers = rng.normal(0, 3, size=(g.num_classes, g.num_features))
        y = rng.integers(0, g.num_classes, size=n)
        x = centers[y] + rng.normal(0, 1 + g.noise, size=(n, g.num_features))
        return Table({"features": x.astype(np.float32), "target": y.astype(np.int64)},
                     classes=[str(i) for i in range(g.num_classes)])
    if g.kind == "moons":
        t = rng.uniform(0, np.pi, size=n)
        y = rng.integers(0, 2, size=n)
        x = np.stack([np.cos(t) + y * 1.0, np.sin(t) * (1 - 2 * y) + y * 0.5], 1) + rng.normal(0, g.noise, (n, 2))
        return Table({"features": x.astype(np.float32), "target": y.astype(np.int64)}, classes=["0", "1"])
    if g.kind == "linear":
        x = rng.normal(size=(n, g.num_features))
        w = rng.normal(size=g.num_features)
        y = x @ w + rng.normal(0, g.noise, size=n)
        return Table({"features": x.astype(np.float32), "target": y.astype(np.float32)})
    if g.kind == "images":
        c, h, w = (g.shape or [1, 8, 8]) + [8] * (3 - len(g.shape or [1, 8, 8]))
        y = rng.integers(0, g.num_classes, size=n)
        base = rng.uniform(0, 1, size=(g.num_classes, c, h, w)) > 0.5
        x = base[y].astype(np.float32) + rng.normal(0, g.noise, size=(n, c, h, w))
        return Table({"image": x.astype(np.float32), "target": y.astype(np.int64)},
                     classes=[str(i) for i in range(g.num_classes)])
    length = (g.shape or [16])[0]
    start = rng.integers(0, g.vocab_size, size=(n, 1))
    tokens = (start + np.arange(length + 1)[None, :]) % g.vocab_size  # rule: next = token + 1 (mod vocab)
    return Table({"tokens": tokens[:, :-1].astype(np.int64), "next": tokens[:, 1:].astype(np.int64),
                  "target": (start[:, 0] % g.num_classes).astype(np.int64)},
                 classes=[str(i) for i in range(g.num_classes)], vocab=[str(i) for i in range(g.vocab_size)])
