"""The layer registry and every built-in layer family (one explicit import per family module)."""

from . import activation, conv, dense, dropout, embedding, merge, norm, pool, reshape, residual  # noqa: F401
from . import attention, positional, recurrent, special, tensor, transformer  # noqa: F401
from . import conv_transpose, upsample  # noqa: F401
from .base import BOOL, FLOAT, LONG, Example, Layer
from .registry import RegistryError, activation_tags, all_layers, get_layer, load_plugin, register

__all__ = [
    "BOOL", "FLOAT", "LONG", "Example", "Layer", "RegistryError",
    "activation_tags", "all_layers", "get_layer", "load_plugin", "register",
]
