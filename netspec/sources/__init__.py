"""The data-source registry: one module per source, registered when imported (the list below).

Adding a source is one class in one module here plus its import line below; the ``data.source``
schema (``netspec.spec.data``), ``netspec schema``, the guide page docs/guide/data-sources.md
(``netspec.docs_data``) and tests/test_component_sources.py derive from ``SOURCES``. A source's
``read`` calls the reader code in ``netspec.data`` (imported inside the method).
"""

# ruff: noqa: I001  (the module list below is the registration order, kept as written)

from .base import SOURCES, Source

# registration order = the schema union's and the guide page's order
from . import sklearn  # noqa: F401
from . import csv  # noqa: F401
from . import parquet  # noqa: F401
from . import json_table  # noqa: F401
from . import arrays  # noqa: F401
from . import image_folder  # noqa: F401
from . import shards  # noqa: F401
from . import text  # noqa: F401
from . import jsonl  # noqa: F401
from . import generated  # noqa: F401
from . import stdlib_text  # noqa: F401
from . import sequence_task  # noqa: F401
from . import shapes  # noqa: F401
from . import graphs  # noqa: F401

__all__ = ["SOURCES", "Source"]
