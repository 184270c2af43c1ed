"""Data faults: samples that cannot be used, named by file and row — or left out and counted.

``Origin`` remembers, for every row of a Table read from a file, where it came from (a CSV line, a
Parquet or array row, a JSON line, an image file), through splits. ``Faults`` applies the spec's
``data.bad_samples`` policy; a reader takes ``faults.of(file, path)`` once per file (the file and
its place in the spec, given once): ``bad(where, ...)`` raises a DataError naming the file and the
row, or (skip) counts the sample by file and reason so the reader drops it; ``limit(total)`` turns
too many skipped samples of the file into an error after all. ``finite_rows`` finds rows holding
NaN/Inf.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..errors import DataError, SpecPath

SKIP_HINT = "fix the data, or set `data.bad_samples: skip` to leave such samples out (they are counted)"


@dataclass
class Origin:
    """Row i of a table is ``unit numbers[i]`` of ``file`` (line 17, row 3, index 5) or, for
    image folders, the file ``names[i]``."""

    file: str
    unit: str
    numbers: Optional[np.ndarray] = None
    names: Optional[list[str]] = None
    total: int = 0  # samples the file held, usable or not

    def describe(self, i: int) -> str:
        if self.names is not None:
            return self.names[i]
        return f"{self.file}, {self.unit} {int(self.numbers[i])}"  # type: ignore[index]

    def take(self, index: np.ndarray) -> "Origin":
        numbers = self.numbers[index] if self.numbers is not None else None
        names = [self.names[i] for i in index] if self.names is not None else None
        return Origin(self.file, self.unit, numbers, names, self.total)


class Faults:
    """The bad-sample policy of one data preparation, and what it left out."""

    def __init__(self, spec: Any = None) -> None:
        self.skip = getattr(spec, "type", "error") == "skip"
        self.max_fraction = getattr(spec, "max_fraction", 0.0)
        self.skipped: dict[str, Counter] = {}

    def bad(self, where: str, problem: str, reason: str, path: SpecPath, hint: Optional[str] = None,
            file: Optional[Path | str] = None) -> None:
        """One unusable sample at ``where`` (e.g. "data.csv, line 7"): an error, or counted."""
        if not self.skip:
            raise DataError(f"{where}: {problem}", path=path, hint=hint or SKIP_HINT)
        self.skipped.setdefault(str(file or where.split(",")[0]), Counter())[reason] += 1

    def limit(self, file: Path | str, total: int, path: SpecPath) -> None:
        """An error when more than max_fraction of the file's ``total`` samples were left out."""
        count = sum(self.skipped.get(str(file), Counter()).values())
        if count and count > self.max_fraction * max(total, 1):
            reasons = ", ".join(f"{n} {r}" for r, n in self.skipped[str(file)].most_common())
            raise DataError(f"{count} of {total} samples of {file} are unusable ({reasons}), more than "
                            f"max_fraction {self.max_fraction:g}", path=path,
                            hint="fix the data, or raise data.bad_samples.max_fraction")

    def summary(self) -> dict[str, dict[str, int]]:
        """{file: {reason: count}} of the samples left out."""
        return {f: dict(c) for f, c in self.skipped.items()}

    def of(self, file: Path | str, path: SpecPath) -> "FileFaults":
        """The policy for the samples of one ``file``, whose errors are located at ``path``."""
        return FileFaults(self, str(file), path)


@dataclass
class FileFaults:
    """The bad-sample policy applied to the samples of one file (counted under ``file``)."""

    faults: Faults
    file: str
    path: SpecPath

    def bad(self, where: str, problem: str, reason: str, hint: Optional[str] = None) -> None:
        """One unusable sample at ``where`` (e.g. "data.csv, line 7"): an error, or counted."""
        self.faults.bad(where, problem, reason, self.path, hint=hint, file=self.file)

    def limit(self, total: int) -> None:
        """An error when more than max_fraction of the file's ``total`` samples were left out."""
        self.faults.limit(self.file, total, self.path)


def finite_rows(x: np.ndarray) -> np.ndarray:
    """A bool per row: every value of the row is finite (integer arrays always are)."""
    if not np.issubdtype(x.dtype, np.floating) or x.size == 0:
        return np.ones(len(x), bool)
    return np.isfinite(x.reshape(len(x), -1)).all(axis=1)


def describe_skipped(summary: dict[str, dict[str, int]]) -> str:
    """One line for the CLI: "left out 3 samples: data.csv (2 NaN/Inf value, 1 ragged row)"."""
    total = sum(n for reasons in summary.values() for n in reasons.values())
    parts = [f"{Path(f).name} ({', '.join(f'{n} {r}' for r, n in reasons.items())})" for f, reasons in summary.items()]
    return f"data.bad_samples: skip left out {total} sample(s): {'; '.join(parts)}"
