"""The initializer registry: one module per initializer, registered when imported (the list below).

Adding an initializer is one class in one module here plus its import line below; the ``init:``
schema (``netspec.spec.initializers``), ``netspec schema`` and tests/test_component_initializers.py
derive from ``INITIALIZERS``. ``INITIALIZERS.get(tag)`` gives a class; an unknown tag raises.
"""

from .base import INITIALIZERS, Gain, Initializer, Nonlinearity

# registration order = the schema union's order
from . import zeros  # noqa: E402,F401
from . import ones  # noqa: E402,F401
from . import constant  # noqa: E402,F401
from . import normal  # noqa: E402,F401
from . import uniform  # noqa: E402,F401
from . import truncated_normal  # noqa: E402,F401
from . import xavier_uniform  # noqa: E402,F401
from . import xavier_normal  # noqa: E402,F401
from . import kaiming_uniform  # noqa: E402,F401
from . import kaiming_normal  # noqa: E402,F401
from . import lecun_normal  # noqa: E402,F401
from . import lecun_uniform  # noqa: E402,F401
from . import orthogonal  # noqa: E402,F401
from . import sparse  # noqa: E402,F401

__all__ = ["INITIALIZERS", "Gain", "Initializer", "Nonlinearity"]
