"""The layer registry: tag -> Layer class. Registering a tag twice is an error, not a warning.

Everything about layers (the schema's union, ``netspec layers``, the generated reference, the
registry-wide tests) derives from this table. Built-in families are imported on first use through
the explicit table in ``index.py`` (never by scanning the file system); plugins add to the table
only when the user enables them explicitly (``--plugin MODULE``). A spec naming an unknown layer
never triggers an import.
"""

import importlib
from typing import TypeVar

from .base import Layer
from .index import MODULE_OF, MODULES

_LAYERS: dict[str, type[Layer]] = {}
L = TypeVar("L", bound=type[Layer])


class RegistryError(Exception):
    """A layer class that breaks the registry's rules (a programming error, not a user error)."""


def register(cls: L) -> L:
    """Class decorator: add a Layer class to the registry."""
    tag = getattr(cls, "tag", None)
    if not tag or not isinstance(tag, str):
        raise RegistryError(f"{cls.__name__} has no tag")
    if tag in _LAYERS:
        raise RegistryError(f"layer {tag!r} is registered twice ({_LAYERS[tag].__name__} and {cls.__name__})")
    contract = cls.contract()
    if "→" not in contract:
        raise RegistryError(f"{cls.__name__}: the docstring's first line must state the shape contract (… → …)")
    if not cls.examples:
        raise RegistryError(f"{cls.__name__} has no examples")
    _LAYERS[tag] = cls
    return cls


def get_layer(tag: str) -> type[Layer] | None:
    cls = _LAYERS.get(tag)
    if cls is None and isinstance(tag, str) and tag in MODULE_OF:
        importlib.import_module(f"{__package__}.{MODULE_OF[tag]}")
        cls = _LAYERS.get(tag)
    return cls


def all_layers() -> dict[str, type[Layer]]:
    """Every layer type, built-in and plugin (imports every built-in family)."""
    for module in MODULES:
        importlib.import_module(f"{__package__}.{module}")
    return dict(sorted(_LAYERS.items()))


def layer_tags() -> list[str]:
    """The names of every layer type, without importing any family (for did-you-mean hints)."""
    return sorted(set(MODULE_OF) | set(_LAYERS))


def activation_tags() -> list[str]:
    plugins = [t for t, c in _LAYERS.items() if c.family == "activation" and t not in MODULE_OF]
    return sorted(set(MODULES["activation"]) | set(plugins))


def load_plugin(module: str) -> None:
    """Import a plugin module that registers its own layers (explicitly enabled by the user)."""
    importlib.import_module(module)
