"""The initializer registry: one module per initializer, registered when imported (the list below).

Adding an initializer is one class in one module here plus its import line below; the ``init:``
schema (``netspec.spec.initializers``), ``netspec schema`` and tests/test_component_initializers.py
derive from ``INITIALIZERS``. ``INITIALIZERS.get(tag)`` gives a class; an unknown tag raises.
"""

# ruff: noqa: I001  (the module list below is the registration order, kept as written)

from .base import INITIALIZERS, Gain, Initializer, Nonlinearity

# registration order = the schema union's order
from . import zeros  # noqa: F401
from . import ones  # noqa: F401
from . import constant  # noqa: F401
from . import normal  # noqa: F401
from . import uniform  # noqa: F401
from . import truncated_normal  # noqa: F401
from . import xavier_uniform  # noqa: F401
from . import xavier_normal  # noqa: F401
from . import kaiming_uniform  # noqa: F401
from . import kaiming_normal  # noqa: F401
from . import lecun_normal  # noqa: F401
from . import lecun_uniform  # noqa: F401
from . import orthogonal  # noqa: F401
from . import sparse  # noqa: F401

__all__ = ["INITIALIZERS", "Gain", "Initializer", "Nonlinearity"]
