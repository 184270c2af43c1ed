"""One registry per kind of component (loss, optimizer, schedule, metric, initializer, augmentation,
data source, training program): tag -> class, the layer registry's pattern everywhere.

A component is one pydantic class with a ``type: Literal[...]`` tag, a docstring (its documentation)
and an ``EXAMPLE`` (YAML text that drives the registry-wide tests and the reference docs). Registering
a tag twice, or a class without tag, docstring or example, is a programming error and raises at
import. Looking up an unknown tag raises ``UnknownComponent`` with a did-you-mean hint: there is no
default branch anywhere that a forgotten entry could fall into.

The schema's discriminated union comes from ``Registry.union()``, so a component is in the schema,
``netspec schema``, the listings and the docs as soon as its class is registered. A leaf module: it
imports nothing from netspec except ``strict``.
"""

from difflib import get_close_matches
from typing import Any, Generic, Iterator, TypeVar, Union, get_args

from .strict import tagged

C = TypeVar("C", bound=type)


class RegistryError(Exception):
    """A component class that breaks the registry's rules (a programming error, not a user error)."""


class UnknownComponent(LookupError):
    """A lookup of a tag no component has (reaching this from a validated spec is a bug)."""

    def __init__(self, kind: str, tag: object, known: list[str]) -> None:
        close = get_close_matches(str(tag), known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"one of: {', '.join(known)}"
        super().__init__(f"unknown {kind} {tag!r}: {hint}")
        self.kind, self.tag, self.hint = kind, tag, hint


def tag_of(cls: type) -> str:
    """The ``type`` tag of a component class (its ``Literal`` annotation's one value)."""
    field = getattr(cls, "model_fields", {}).get("type")
    values = get_args(field.annotation) if field is not None else ()
    if len(values) != 1 or not isinstance(values[0], str):
        raise RegistryError(f"{cls.__name__} must declare `type: Literal['<tag>']` with exactly one tag")
    return values[0]


class Registry(Generic[C]):
    """The components of one kind, in registration order."""

    def __init__(self, kind: str, *, needs_example: bool = True) -> None:
        self.kind = kind
        self.needs_example = needs_example
        self._classes: dict[str, C] = {}

    def register(self, cls: C) -> C:
        """Class decorator: add a component class. Twice the same tag, no docstring or no example raises."""
        tag = tag_of(cls)
        if tag in self._classes:
            raise RegistryError(f"{self.kind} {tag!r} is registered twice "
                                f"({self._classes[tag].__name__} and {cls.__name__})")
        if not (cls.__doc__ or "").strip():
            raise RegistryError(f"{self.kind} {tag!r} ({cls.__name__}) has no docstring: it is the documentation")
        if self.needs_example and not getattr(cls, "EXAMPLE", None):
            raise RegistryError(f"{self.kind} {tag!r} ({cls.__name__}) has no EXAMPLE")
        self._classes[tag] = cls
        return cls

    def get(self, tag: str) -> C:
        """The class registered under ``tag``; an unknown tag raises ``UnknownComponent``."""
        try:
            return self._classes[tag]
        except (KeyError, TypeError):
            raise UnknownComponent(self.kind, tag, self.tags()) from None

    def of(self, component: Any) -> C:
        """The registered class of a component instance (looked up by its tag, so a subclass is not enough)."""
        return self.get(getattr(component, "type", None))  # type: ignore[arg-type]

    def __contains__(self, tag: object) -> bool:
        return tag in self._classes

    def __iter__(self) -> Iterator[C]:
        return iter(self._classes.values())

    def __len__(self) -> int:
        return len(self._classes)

    def tags(self) -> list[str]:
        return list(self._classes)

    def items(self) -> list[tuple[str, C]]:
        return list(self._classes.items())

    def union(self, description: str | None = None) -> Any:
        """The discriminated union of every registered class, for a pydantic field (bare names accepted)."""
        if not self._classes:
            raise RegistryError(f"no {self.kind} is registered")
        classes = tuple(self._classes.values())
        return tagged(Union[classes] if len(classes) > 1 else classes[0], description)
