"""Progress of long data work (building a cache, a token file, shards): never a silent minute.

Library code does not print: ``task(label, total, unit)`` returns a counter whose ``advance(n)``
sends a line such as ``decoding images into the cache: 4,096/20,000 images (812/s, ETA 20 s)`` at
most once a second to whoever listens, and ``done()`` a closing line. The CLI listens with
``reporting(say)`` around data preparation; nobody listening costs nothing.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator, Optional

Say = Callable[[str], None]
_LISTENER: ContextVar[Optional[Say]] = ContextVar("netspec_data_progress", default=None)


@contextmanager
def reporting(say: Optional[Say]) -> Iterator[None]:
    """Send progress lines of the data work inside this block to ``say``."""
    token = _LISTENER.set(say)
    try:
        yield
    finally:
        _LISTENER.reset(token)


class Task:
    def __init__(self, label: str, total: Optional[int], unit: str, say: Optional[Say], every: float = 1.0) -> None:
        self.label, self.total, self.unit, self.say, self.every = label, total, unit, say, every
        self.count = 0
        self.start = self.last = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if self.say is not None and now - self.last >= self.every:
            self.last = now
            self.say(self.line(now))

    def line(self, now: float) -> str:
        rate = self.count / max(now - self.start, 1e-9)
        total = f"/{self.total:,}" if self.total is not None else ""
        eta = ""
        if self.total is not None and rate > 0:
            eta = f", ETA {_duration((self.total - self.count) / rate)}"
        return f"{self.label}: {self.count:,}{total} {self.unit} ({_rate(rate)}/s{eta})"

    def done(self, what: str = "") -> None:
        if self.say is not None:
            took = time.monotonic() - self.start
            self.say(f"{self.label}: {self.count:,} {self.unit} in {_duration(took)}{'; ' + what if what else ''}")


def task(label: str, total: Optional[int] = None, unit: str = "items") -> Task:
    """A counter for one piece of long data work (see the module docstring)."""
    return Task(label, total, unit, _LISTENER.get())


def _rate(r: float) -> str:
    return f"{r / 1e6:.1f} M" if r >= 1e6 else f"{r / 1e3:.1f} k" if r >= 1e4 else f"{r:,.0f}"


def _duration(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min"
