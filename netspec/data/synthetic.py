"""Generated data for the seq2seq and segmentation programs (seeded, no files).

``sequence_table``: digit strings and their reversal / sorting / copy, with the special tokens
``<pad>`` 0, ``<sos>`` 1, ``<eos>`` 2 and the digits 0-9 as ids 3-12. Source strings are distinct,
so no string is in both the train and the validation split.

``shapes_table``: grayscale images of filled circles, rectangles and triangles (each with a random
size, place and brightness, so only the outline tells the kinds apart) plus Gaussian noise, and
masks that give each pixel its class: 0 background, k + 1 for ``kinds[k]`` (or 1 for any shape
with ``classes: binary``). Later shapes cover earlier ones, in the image and in the mask.

``graphs_table``: one stochastic-block-model graph per sample (node communities drawn uniformly;
an edge with probability p_in inside a community, p_out across), its normalized adjacency
D^-1/2 (A + I) D^-1/2 (Kipf & Welling's renormalization), node features N(0, noise²) plus
``signal`` on the feature of the node's community, and the community as the node's label.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .table import Table

SEQ_SPECIALS = ["<pad>", "<sos>", "<eos>"]
PAD, SOS, EOS = 0, 1, 2
SEQ_VOCAB = SEQ_SPECIALS + [str(d) for d in range(10)]


def _target(task: str, digits: list[int]) -> list[int]:
    return digits[::-1] if task == "reverse" else sorted(digits) if task == "sort" else list(digits)


def sequence_table(src) -> Table:
    possible = sum(10 ** n for n in range(src.min_len, src.max_len + 1))
    if src.num_samples > possible:
        raise DataError(f"only {possible} distinct digit strings have lengths {src.min_len}…{src.max_len}",
                        path=("data", "source", "num_samples"), hint="lower num_samples or raise max_len")
    rng = np.random.default_rng(src.seed)
    seen: set[tuple[int, ...]] = set()
    strings: list[tuple[int, ...]] = []
    while len(strings) < src.num_samples:
        length = int(rng.integers(src.min_len, src.max_len + 1))
        s = tuple(int(d) for d in rng.integers(0, 10, size=length))
        if s not in seen:
            seen.add(s)
            strings.append(s)
    n, width = len(strings), src.max_len
    fields = {"src": np.full((n, width), PAD, np.int64), "src_lengths": np.zeros(n, np.int64),
              "tgt_in": np.full((n, width + 1), PAD, np.int64), "tgt_out": np.full((n, width + 1), PAD, np.int64)}
    for i, s in enumerate(strings):
        y = [d + 3 for d in _target(src.task, list(s))]
        fields["src"][i, : len(s)] = [d + 3 for d in s]
        fields["src_lengths"][i] = len(s)
        fields["tgt_in"][i, : len(y) + 1] = [SOS] + y
        fields["tgt_out"][i, : len(y) + 1] = y + [EOS]
    return Table(fields, vocab=list(SEQ_VOCAB))


def _shape_mask(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    lo, hi = size / 10, size / 4
    cy, cx = rng.uniform(hi, size - hi, size=2)
    if kind == "circle":
        r = rng.uniform(lo, hi)
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    h, w = rng.uniform(lo, hi, size=2) * 2
    if kind == "rectangle":
        return (np.abs(yy - cy) <= h / 2) & (np.abs(xx - cx) <= w / 2)
    flip = 1.0 if rng.uniform() < 0.5 else -1.0  # apex up or down
    t = (flip * (yy - cy) + h / 2) / h  # 0 at the apex, 1 at the base
    return (t >= 0) & (t <= 1) & (np.abs(xx - cx) <= t * w / 2)


def shapes_table(src) -> Table:
    rng = np.random.default_rng(src.seed)
    n, size = src.num_samples, src.size
    images = np.zeros((n, 1, size, size), np.float32)
    masks = np.zeros((n, size, size), np.int64)
    for i in range(n):
        for _ in range(int(rng.integers(1, src.max_shapes + 1))):
            k = int(rng.integers(0, len(src.kinds)))
            inside = _shape_mask(src.kinds[k], size, rng)
            images[i, 0][inside] = rng.uniform(0.5, 1.0)
            masks[i][inside] = k + 1 if src.classes == "kind" else 1
    if src.noise > 0:
        images += rng.normal(0, src.noise, size=images.shape).astype(np.float32)
    classes = ["background"] + (list(src.kinds) if src.classes == "kind" else ["object"])
    return Table({"image": np.clip(images, 0, 1), "mask": masks}, classes=classes)


def graphs_table(src) -> Table:
    rng = np.random.default_rng(src.seed)
    g, n = src.num_samples, src.num_nodes
    features = np.zeros((g, n, src.num_features), np.float32)
    adjacency = np.zeros((g, n, n), np.float32)
    labels = np.zeros((g, n), np.int64)
    for i in range(g):
        y = rng.integers(0, src.num_classes, size=n)
        p = np.where(y[:, None] == y[None, :], src.p_in, src.p_out)
        upper = np.triu(rng.uniform(size=(n, n)) < p, 1)
        a = (upper | upper.T) + np.eye(n)  # undirected, with self-loops
        d = 1.0 / np.sqrt(a.sum(1))
        adjacency[i] = a * d[:, None] * d[None, :]
        x = rng.normal(0, src.noise, size=(n, src.num_features))
        x[np.arange(n), y] += src.signal
        features[i], labels[i] = x, y
    return Table({"features": features, "adjacency": adjacency, "target": labels},
                 classes=[str(c) for c in range(src.num_classes)])
