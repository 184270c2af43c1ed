"""Fields read on demand: the one dataset interface of sources too large to hold in memory.

A ``LazyField`` stands where a NumPy array would in a ``Table`` or a split's arrays: it has a
length, a per-sample ``shape`` and a ``dtype``, and ``field[index]`` (an int array of rows) reads
just those rows — decoding images, slicing windows out of a memory-mapped token file, reading
record batches. ``nbytes`` is what the field would take once read whole, so ``data.loader.on_device:
auto`` can decide without reading it. ``select(index)`` is a view of some rows that reads nothing
(how splits are cut), and ``materialize()`` reads everything (the on-device fast path of small data).

Reading happens where the batch is gathered: in a DataLoader worker when the data is streamed
(``netspec.data.batches.StreamBatches``), so decoding runs in parallel and only a batch's rows
are ever in memory. A sample that cannot be read raises ``SampleFault``; under ``data.bad_samples:
skip`` a field's ``read(index, skip=True)`` returns the readable rows' values with the failed
positions instead, and the gather drops those rows from every field of the batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Union

import numpy as np


@dataclass
class SampleFault(Exception):
    """One sample that could not be read: where it is (a file, a shard member) and why."""

    where: str
    problem: str
    reason: str  # the short reason the skip counts are grouped by

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


class LazyField(ABC):
    """Rows read on demand. Subclasses give ``__len__``, ``sample_shape``, ``dtype`` and ``rows``."""

    dtype: np.dtype
    sample_shape: tuple[int, ...]
    cheap: bool = False  # reads are cheap (a memory-mapped slice): batches are gathered in the main process

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def rows(self, index: np.ndarray) -> np.ndarray:
        """The rows at ``index`` (int64, any order), read now; a bad sample raises ``SampleFault``."""

    def read(self, index: np.ndarray, skip: bool = False) -> tuple[np.ndarray, list[tuple[int, SampleFault]]]:
        """``rows(index)``; with ``skip``, a bad sample's row is zeros and its position is returned."""
        if not skip:
            return self.rows(index), []
        try:
            return self.rows(index), []
        except SampleFault:
            pass
        out = np.zeros((len(index),) + self.sample_shape, self.dtype)
        faults: list[tuple[int, SampleFault]] = []
        for pos, i in enumerate(index):
            try:
                out[pos] = self.rows(np.asarray([i]))[0]
            except SampleFault as fault:
                faults.append((pos, fault))
        return out, faults

    # ---- the NumPy face the data layer uses ------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self),) + tuple(self.sample_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize

    def __getitem__(self, index: Union[int, slice, np.ndarray, list]) -> np.ndarray:
        if isinstance(index, (int, np.integer)):
            return self.rows(np.asarray([int(index)], np.int64))[0]
        return self.rows(np.arange(len(self))[index] if isinstance(index, slice) else np.asarray(index, np.int64))

    def select(self, index: np.ndarray) -> "LazyField":
        """The rows at ``index``, still unread."""
        return Selected(self, np.asarray(index, np.int64))

    def materialize(self, chunk: int = 256) -> np.ndarray:
        """Every row, read now (in order)."""
        out = np.empty(self.shape, self.dtype)
        for start in range(0, len(self), chunk):
            out[start:start + chunk] = self.rows(np.arange(start, min(start + chunk, len(self))))
        return out

    def describe(self, i: int) -> str:
        """Where row ``i`` comes from (for errors)."""
        return f"row {i}"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.materialize()
        return out.astype(dtype) if dtype is not None else out


class Selected(LazyField):
    """Some rows of another lazy field (a split), still unread."""

    def __init__(self, base: LazyField, index: np.ndarray) -> None:
        while isinstance(base, Selected):  # a view of a view indexes the original
            base, index = base.base, base.index[index]
        self.base, self.index = base, index
        self.dtype, self.sample_shape, self.cheap = base.dtype, base.sample_shape, base.cheap

    def __len__(self) -> int:
        return len(self.index)

    def rows(self, index: np.ndarray) -> np.ndarray:
        return self.base.rows(self.index[index])

    def read(self, index: np.ndarray, skip: bool = False) -> tuple[np.ndarray, list[tuple[int, SampleFault]]]:
        return self.base.read(self.index[index], skip)

    def describe(self, i: int) -> str:
        return self.base.describe(int(self.index[i]))


def is_lazy(value: Any) -> bool:
    return isinstance(value, LazyField)


def take_rows(value: Any, index: np.ndarray) -> Any:
    """Rows of a field for a split: a view of a lazy field, a copy of an array."""
    return value.select(index) if is_lazy(value) else value[index]


def any_lazy(arrays: dict[str, Any]) -> bool:
    return any(is_lazy(v) for v in arrays.values())
