"""The optimizer registry: tag -> optimizer class (``OPTIMIZERS.union()`` is the spec's ``train.optimizer``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..registry import Registry

if TYPE_CHECKING:
    from .base import Optimizer

#: every optimizer class, registered with ``@OPTIMIZERS.register`` in its own module
OPTIMIZERS: Registry[type[Optimizer]] = Registry("optimizer")
