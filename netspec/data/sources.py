"""Data sources -> Table: ``load_source`` is the one entry point. Each source class in
``netspec.sources`` reads itself with the reader code of this package (``readers`` for files,
``bundled``, ``corpus`` and ``synthetic`` for the others); problems are DataErrors located at the
source, and an object that is no registered source raises ``UnknownComponent``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SpecPath
from ..sources import SOURCES
from .bundled import generated_table, sklearn_table  # noqa: F401  (re-exported)
from .table import Table

SOURCE_PATH: SpecPath = ("data", "source")


def load_source(source, base: Path, classify: bool, path: SpecPath = SOURCE_PATH, faults=None,
                expect: dict | None = None) -> Table:
    """Read ``source`` (any ``netspec.sources`` class: its own ``read``); ``classify`` says whether
    targets are class labels (else numbers); relative file names are resolved against ``base`` (the
    spec file's folder); ``faults`` (a ``faults.Faults``) applies data.bad_samples to file sources;
    ``expect`` (see ``readers.tabular``) the columns and classes of the model the data is for."""
    return SOURCES.of(source).read(source, base, classify, path, faults, expect)
