"""Preprocessing statistics fitted in one streaming pass over the train split (column caches).

``fit_features(rows, scaler)`` reads the train split's rows of a column cache
(``netspec.data.columnar``) chunk by chunk and returns what ``Preprocessor.fit`` saves for them,
in the same form as the in-memory fit: the one-hot categories of each categorical column (the
sorted values that occur in the train split, counted as they stream past) and the affine scaling of
the features (numeric columns, then the one-hot columns), from running statistics:

* standardize: per-chunk count, mean and sum of squared deviations (M2) merged with Chan et al.'s
  parallel update (Welford's, chunk-wise): no sum of squares that cancels catastrophically;
* min-max: running minimum and maximum;
* a one-hot column of a category seen ``c`` times among ``n`` rows has mean c/n, variance
  (c/n)(1 - c/n), minimum 0 (1 when every row has it) and maximum 1: exact, from the counts.

Columns are matched by name (the cache's columns are the source's, by name), never by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from . import columnar
from .columnar import base_of


def streams(value: Any) -> bool:
    """``value`` is a column cache's rows (or a split of them): fitted and transformed here."""
    return base_of(value)[0] is not None


@dataclass
class Moments:
    """Running count, mean, M2 (sum of squared deviations), min and max per column."""

    width: int
    count: int = 0
    mean: np.ndarray = field(init=False)
    m2: np.ndarray = field(init=False)
    low: np.ndarray = field(init=False)
    high: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.mean, self.m2 = np.zeros(self.width), np.zeros(self.width)
        self.low, self.high = np.full(self.width, np.inf), np.full(self.width, -np.inf)

    def add(self, x: np.ndarray) -> None:
        """Merge a chunk of rows (Chan, Golub & LeVeque's pairwise update)."""
        nb = len(x)
        if not nb:
            return
        mean_b = x.mean(0)
        m2_b = ((x - mean_b) ** 2).sum(0)
        na, n = self.count, self.count + nb
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (nb / n)
        self.m2 = self.m2 + m2_b + delta * delta * (na * nb / n)
        self.count = n
        self.low, self.high = np.minimum(self.low, x.min(0)), np.maximum(self.high, x.max(0))

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / max(self.count, 1))


def fit_features(rows: Any) -> tuple[dict[str, list], Optional[dict[str, np.ndarray]]]:
    """The categories of a column cache's train rows, and the per-column statistics of its features
    (``mean``, ``std``, ``mn``, ``mx``; numeric columns then one-hot ones) that ``preprocess.affine_of``
    makes the saved scaling of (see the module docstring)."""
    base, index = base_of(rows)
    assert base is not None  # noqa: S101 - internal: callers check ``streams`` first
    n = len(rows)
    moments = Moments(len(base.numeric))
    counts = {c: np.zeros(len(v), np.int64) for c, v in base.categories.items()}
    step = columnar.BATCH_ROWS  # rows per chunk of the pass
    for start in range(0, n, step):
        at = index[start:start + step] if index is not None else np.arange(start, min(start + step, n))
        moments.add(base.rows(at).astype(np.float64))
        for c in counts:
            counts[c] += np.bincount(base.codes(c, at), minlength=len(counts[c]))
    categories = {c: sorted(str(base.categories[c][k]) for k in np.flatnonzero(k_counts))
                  for c, k_counts in counts.items()}
    if not n:
        return categories, None
    mean, std, low, high = [moments.mean], [moments.std], [moments.low], [moments.high]
    for c, cats in categories.items():
        where = {v: k for k, v in enumerate(base.categories[c])}
        p = np.asarray([counts[c][where[v]] for v in cats], np.float64) / n
        mean.append(p)
        std.append(np.sqrt(p * (1.0 - p)))
        low.append(np.where(p < 1.0, 0.0, 1.0))
        high.append(np.ones(len(cats)))
    return categories, {"mean": np.concatenate(mean), "std": np.concatenate(std), "mn": np.concatenate(low),
                        "mx": np.concatenate(high)}


def transform_features(rows: Any, categories: dict[str, list], affine: Optional[dict], apply: Any) -> Any:
    """The train/val/test rows with the saved statistics applied batch by batch (a lazy field);
    ``apply`` is ``preprocess._apply``, the in-memory arithmetic."""
    return columnar.TransformedRows(rows, categories, affine, apply)


def label_counts(y: Any, ignore: Optional[int], minlength: int) -> np.ndarray:
    """Class counts of a lazy integer target, read chunk by chunk (``ignore``: a padding label left out)."""
    counts = np.zeros(minlength, np.float64)
    step = columnar.BATCH_ROWS
    for start in range(0, len(y), step):
        chunk = np.asarray(y[np.arange(start, min(start + step, len(y)))]).ravel()
        chunk = chunk[chunk != ignore] if ignore is not None else chunk
        found = np.bincount(chunk, minlength=len(counts))
        counts = np.pad(counts, (0, len(found) - len(counts))) + found
    return counts
