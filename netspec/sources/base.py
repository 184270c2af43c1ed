"""The data-source registry and the interface every source implements (no torch, no NumPy at import).

A source is one pydantic class registered with ``@SOURCES.register``: its tag and keys are the schema
of ``data.source``, its docstring the documentation, ``FIELDS`` what it yields (the named fields, one
row per sample, and their per-sample shapes and dtypes), ``EXAMPLE`` a ``data.source`` value for the
guide page (docs/guide/data-sources.md, generated from ``SOURCES``) and the registry-wide test, and
``read`` the reader that turns it into a ``netspec.data.table.Table``. The readers' code lives in
``netspec.data`` (readers, corpus, synthetic, sources); ``read`` imports it inside the method, and
nothing in ``netspec.data`` imports this package back, so there is no import cycle.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import SpecPath
from ..registry import Registry
from ..strict import StrictModel

if TYPE_CHECKING:  # pragma: no cover
    from ..data.table import Table




class Source(StrictModel):
    """Where samples come from."""

    #: the fields it yields, with their per-sample shapes and dtypes (Markdown, for the guide page)
    FIELDS: ClassVar[str]
    EXAMPLE: ClassVar[str]

    @abstractmethod
    def read(self, base: Path, classify: bool, path: SpecPath, faults: Any | None = None,
             expect: dict[str, Any] | None = None) -> Table:
        """Read the samples. ``base``: the folder relative paths start from (the spec file's);
        ``classify``: targets are class labels (else numbers); ``path``: the spec path problems are
        located at; ``faults``: a ``netspec.data.faults.Faults`` applying ``data.bad_samples`` (file
        sources); ``expect``: the columns and classes of the model the data is for (see
        ``netspec.data.readers.tabular``). Problems raise located ``DataError``s."""

    def memory_bytes(self) -> int | None:
        """The bytes ``read`` will hold in memory, when known before reading (None: not known, or the
        source reads lazily). Training checks it against the free memory before reading a byte."""
        return None


SOURCES: Registry[type[Source]] = Registry("source")
