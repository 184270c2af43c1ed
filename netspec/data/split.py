"""Splits: by ratio (stratified by class when possible, seeded), explicit files, or k-fold.

``split_table`` returns {"train": Table, "val": Table, ("test": Table)}; the val split may be
empty (val: 0). Stratification uses the integer ``target`` field when there is one.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import DataError
from ..spec import data as ds
from .table import Table

SPLIT_PATH = ("data", "split")


def split_table(split, table: Table, read_file: Callable[[str, tuple], Table]) -> dict[str, Table]:
    n = len(table)
    if isinstance(split, ds.FilesSplit):
        out = {"train": table}
        for name in ("val", "test"):
            fname = getattr(split, name)
            if fname is not None:
                out[name] = read_file(fname, SPLIT_PATH + (name,))
        out.setdefault("val", table.take(np.arange(0)))
        return out
    labels = table.labels() if split.stratify else None
    if isinstance(split, ds.KFold):
        return {k: table.take(v) for k, v in kfold_indices(split, n, labels).items()}
    return {k: table.take(v) for k, v in ratio_indices(split, n, labels).items()}


def ratio_indices(split: ds.RatioSplit, n: int, labels: np.ndarray | None) -> dict[str, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    out: dict[str, np.ndarray] = {}
    rest, strat = idx, labels
    for name, share, _remaining in (("test", split.test, 1.0), ("val", split.val, 1.0 - split.test)):
        if share <= 0:
            out[name] = np.arange(0)
            continue
        count = int(round(share * n))
        if count == 0 or count >= len(rest):
            raise DataError(f"{name} share {share:g} of {n} samples gives {count} sample(s)", path=SPLIT_PATH + (name,),
                            hint="use a larger share or more data")
        strat_here = strat if strat is not None and _can_stratify(strat, count) else None
        rest, picked = train_test_split(rest, test_size=count, random_state=split.seed, shuffle=True,
                                        stratify=strat_here)
        out[name] = np.sort(picked)
        strat = labels[rest] if labels is not None else None
    out["train"] = np.sort(rest)
    return {"train": out["train"], "val": out["val"], **({"test": out["test"]} if split.test > 0 else {})}


def _can_stratify(labels: np.ndarray, count: int) -> bool:
    counts = np.bincount(labels)
    counts = counts[counts > 0]
    return counts.min() >= 2 and count >= len(counts) and len(labels) - count >= len(counts)


def kfold_indices(split: ds.KFold, n: int, labels: np.ndarray | None) -> dict[str, np.ndarray]:
    from sklearn.model_selection import KFold, StratifiedKFold

    if n < split.k:
        raise DataError(f"{n} samples cannot make {split.k} folds", path=SPLIT_PATH + ("k",))
    if labels is not None and np.bincount(labels)[np.bincount(labels) > 0].min() >= split.k:
        folds = StratifiedKFold(split.k, shuffle=True, random_state=split.seed).split(np.zeros(n), labels)
    else:
        folds = KFold(split.k, shuffle=True, random_state=split.seed).split(np.zeros(n))
    train, val = list(folds)[split.fold]
    return {"train": train, "val": val}
