"""The layer registry. Built-in layer families are listed in ``index.py`` and imported on first
use, so validating a spec imports only the families it uses."""

from .base import BOOL, FLOAT, LONG, Example, Layer
from .registry import RegistryError, activation_tags, all_layers, get_layer, layer_tags, load_plugin, register

__all__ = [
    "BOOL", "FLOAT", "LONG", "Example", "Layer", "RegistryError",
    "activation_tags", "all_layers", "get_layer", "layer_tags", "load_plugin", "register",
]
