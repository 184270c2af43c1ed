"""Names in a scope and references to them (``a``, ``split.0``, ``encoder.mu``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..diagnostics import did_you_mean, show
from ..errors import SpecError, SpecPath
from .ir import ValueId

POISON: ValueId = ("poison", "")


@dataclass
class Entry:
    """What a name in a scope stands for."""

    kind: str  # input | layer | block | share | poison
    qn: str = ""
    value: Optional[ValueId] = None  # for inputs
    names: tuple[str, ...] = ()  # named outputs
    count: Optional[int] = None  # number of outputs when known (blocks)

    def sole(self) -> ValueId:
        """The value when the name is used without an output selector."""
        if self.kind == "input":
            return self.value  # type: ignore[return-value]
        if self.kind == "layer":
            return ("node", self.qn, None)
        if self.kind == "block" and self.count == 1:
            return ("alias", self.qn, 0)
        if self.kind == "block":
            raise SpecError(f"block use {self.qn!r} has several outputs ({', '.join(self.names)})",
                            hint=f"choose one, e.g. {self.qn.rsplit('.', 1)[-1]}.{self.names[0]}")
        return POISON

    def select(self, selector: str) -> ValueId:
        """The value of ``name.selector``: an output index or an output name."""
        if self.kind in ("poison", "share"):
            return POISON
        if self.kind == "input":
            raise SpecError(f"input {self.value[1]!r} has one value; it takes no `.{selector}`")  # type: ignore[index]
        if selector.isdigit():
            index = int(selector)
            if self.count is not None and index >= self.count:
                raise SpecError(f"{self.qn!r} has {self.count} output(s); there is no output {index}")
        elif selector in self.names:
            index = self.names.index(selector)
        else:
            outs = ", ".join(self.names) if self.names else "outputs are addressed by index: .0, .1, …"
            raise SpecError(f"{self.qn!r} has no output named {selector!r}", hint=did_you_mean(selector, self.names) or outs)
        return ("node" if self.kind == "layer" else "alias", self.qn, index)


def resolve(ref: object, table: dict[str, Entry], path: SpecPath) -> ValueId:
    """Resolve a reference string in a scope; exact names win over ``base.selector``."""
    if not isinstance(ref, str):
        raise SpecError(f"expected a node name, got {show(ref)}", path=path)
    try:
        if ref in table:
            return table[ref].sole()
        if "." in ref:
            base, selector = ref.rsplit(".", 1)
            if base in table:
                return table[base].select(selector)
    except SpecError as exc:
        exc.path = path
        raise
    names = [n for n in table]
    hint = did_you_mean(ref, names) or (f"names here: {', '.join(names)}" if len(names) <= 12 else None)
    raise SpecError(f"unknown node {ref!r}", path=path, hint=hint)
