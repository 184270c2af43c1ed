"""A dataset held in memory as named NumPy fields with one row per sample.

Sources produce a ``Table``; splitting selects rows; preprocessing turns it into arrays ready for
the model; a field may be a ``netspec.data.lazy.LazyField`` (read on demand, split as a view).
``ragged`` holds variable-length token lists (padded by preprocessing) and
``categorical`` raw category columns (one-hot encoded by preprocessing, categories from the
train split). ``origin`` (file sources) says where each row came from, so a problem found later
(a label out of range) names the file and the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

import numpy as np

from .lazy import take_rows

if TYPE_CHECKING:  # pragma: no cover
    from .faults import Origin


@dataclass
class Table:
    fields: dict[str, np.ndarray] = field(default_factory=dict)
    ragged: dict[str, list] = field(default_factory=dict)
    categorical: dict[str, np.ndarray] = field(default_factory=dict)
    classes: Optional[list] = None  # class labels in index order
    vocab: Optional[list[str]] = None  # token strings in id order
    feature_names: Optional[list[str]] = None
    origin: Optional["Origin"] = None  # where each row came from (file sources)
    tokenizer: Optional[str] = None  # a Hugging Face tokenizer's JSON (text sources with subwords)

    def __len__(self) -> int:
        for group in (self.fields, self.categorical):
            for value in group.values():
                return len(value)
        for value in self.ragged.values():
            return len(value)
        return 0

    def names(self) -> list[str]:
        return list(self.fields) + list(self.ragged) + (["features"] if self.categorical and "features" not in self.fields else [])

    def take(self, index: np.ndarray) -> "Table":
        """The rows at ``index`` (a new Table sharing the metadata)."""
        return Table({k: take_rows(v, index) for k, v in self.fields.items()},
                     {k: [v[i] for i in index] for k, v in self.ragged.items()},
                     {k: v[index] for k, v in self.categorical.items()},
                     self.classes, self.vocab, self.feature_names,
                     self.origin.take(index) if self.origin is not None else None, self.tokenizer)

    def labels(self, name: str = "target") -> Optional[np.ndarray]:
        """Integer class labels of ``name`` (for stratification and class weights), if it holds some."""
        y = self.fields.get(name)
        if y is None or y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            return None
        return y
