"""The schedule registry: tag -> schedule class (``SCHEDULES.union()`` is the spec's ``train.schedule``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..registry import Registry

if TYPE_CHECKING:
    from .base import Schedule

#: every learning-rate schedule class, registered with ``@SCHEDULES.register`` in its own module
SCHEDULES: Registry[type[Schedule]] = Registry("schedule")
