"""The NetspecError family.

Library code raises these; only the CLI renders them (with file:line:col from a SourceMap) and
chooses exit codes. A *spec path* such as ``("model", "layers", 3, "linear", "out_features")`` is
the only way library code refers to a place in a spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Union

PathPart = Union[str, int]
SpecPath = tuple[PathPart, ...]


@dataclass(frozen=True)
class Location:
    """A position in a source: a file (or ``<--set>``) and a 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.line else self.file

    @classmethod
    def whole(cls, file: object) -> "Location":
        """The file (or folder) as a whole: rendered ``file: ...`` without a line."""
        return cls(str(file), 0, 0)


class NetspecError(Exception):
    """Base class. ``path`` locates the problem in the spec; ``at_key`` points at the key itself
    (an unknown key) rather than at its value."""

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        path: Iterable[PathPart] = (),
        hint: str | None = None,
        at_key: bool = False,
        location: Location | None = None,
        context: str | None = None,
        notes: Iterable[tuple[SpecPath, str]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path: SpecPath = tuple(path)
        self.hint = hint
        self.at_key = at_key
        self.location = location
        self.context = context  # e.g. "linear 'fc1'": what sits at the path
        self.notes: list[tuple[SpecPath, str]] = list(notes)  # e.g. where a block was used
        self.source: Any = None  # the SourceMap to locate paths with (set where the spec was loaded)

    def __str__(self) -> str:
        where = format_path(self.path)
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} (hint: {self.hint})" if self.hint else text

    def with_path(self, prefix: Iterable[PathPart]) -> "NetspecError":
        """Return the same error located under ``prefix``."""
        self.path = tuple(prefix) + self.path
        return self


class SpecError(NetspecError):
    """A structural problem in a spec: a wrong key, type, value or reference."""


class ShapeError(SpecError):
    """A tensor shape that a layer cannot accept."""


class DataError(NetspecError):
    """A data source that cannot be read or does not fit the spec."""


class TrainError(NetspecError):
    """A failure while training (non-finite loss, out of memory, ...)."""


class Interrupted(TrainError):
    """A run stopped by a signal after saving its checkpoint; the CLI exits with 128 + the signal
    number (130 for Ctrl-C, 143 for SIGTERM)."""

    kind = "note"

    def __init__(self, message: str, *, signum: int, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.signum = signum
        self.exit_code = 128 + signum


class ExportError(NetspecError):
    """A model that cannot be exported or does not verify."""


class SpecErrors(NetspecError):
    """Several problems found at once (all structural problems are reported in one run)."""

    def __init__(self, errors: Iterable[NetspecError]) -> None:
        self.errors: list[NetspecError] = _dedupe(errors)
        first = self.errors[0].message if self.errors else "invalid spec"
        super().__init__(f"{len(self.errors)} problem(s); first: {first}")

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def _dedupe(errors: Iterable[NetspecError]) -> list[NetspecError]:
    seen: set[tuple] = set()
    out: list[NetspecError] = []
    for err in errors:
        sub = err.errors if isinstance(err, SpecErrors) else [err]
        for e in sub:
            key = (e.path, e.message, e.location)
            if key not in seen:
                seen.add(key)
                out.append(e)
    return out


def raise_all(errors: list[NetspecError]) -> None:
    """Raise nothing, the single error, or a SpecErrors holding all of them."""
    if len(errors) == 1 and not isinstance(errors[0], SpecErrors):
        raise errors[0]
    if errors:
        raise SpecErrors(errors)


def format_path(path: Iterable[PathPart]) -> str:
    """``("model", "layers", 3, "units")`` -> ``model.layers[3].units``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
