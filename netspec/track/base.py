"""What the trackers share: the numbers of a metrics row, and the error for a missing package."""

from __future__ import annotations

from typing import Any

from ..distribution import install_hint
from ..errors import TrainError


def scalar_items(row: dict[str, Any]) -> list[tuple[str, float]]:
    """The numbers of a metrics row (``epoch`` and lists such as a confusion matrix left out)."""
    return [(k, float(v)) for k, v in row.items()
            if k != "epoch" and isinstance(v, (int, float)) and not isinstance(v, bool)]


def missing(package: str, extra: str, key: str) -> TrainError:
    return TrainError(f"train.log.{key} needs the {package!r} package, which is not installed", path=("train", "log", key),
                      hint=f"{install_hint(extra)}, or set {key}: false")
