"""The node keys beside a layer type: name, inputs, repeat, init, share, tie, description."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..diagnostics import pydantic_errors, show
from ..errors import NetspecError, SpecError, SpecPath
from ..limits import MAX_REPEAT
from ..spec.base import StrictModel
from ..spec.initializers import InitMap
from ..spec.model import NAME_RE


class _NodeInit(StrictModel):
    init: InitMap


def parse_node_keys(item: Any, raw: dict[str, Any]) -> list[NetspecError]:
    """Fill ``item`` from the node keys of ``raw``; return the problems found."""
    problems: list[NetspecError] = []
    path = item.path
    if "name" in raw:
        name = raw["name"]
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append(SpecError(f"expected a name (letters, digits, _; dots separate levels), got {show(name)}",
                                      path=path + ("name",)))
        else:
            item.local, item.name_given = name, True
    if "inputs" in raw:
        inputs = raw["inputs"]
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            problems.append(SpecError(f"expected a list of node names, got {show(raw['inputs'])}", path=path + ("inputs",)))
        else:
            item.inputs = inputs
    if "repeat" in raw:
        problems += _repeat(item, raw["repeat"], path + ("repeat",))
    if "init" in raw:
        try:
            item.init = _NodeInit.model_validate({"init": raw["init"]}).init
        except ValidationError as exc:
            problems += pydantic_errors(exc, {"init": raw["init"]}, _NodeInit, path)
    if "share" in raw:
        if not isinstance(raw["share"], str):
            problems.append(SpecError(f"expected the name of a node to share weights with, got {show(raw['share'])}",
                                      path=path + ("share",)))
        else:
            item.share = raw["share"]
            if "repeat" in raw:
                problems.append(SpecError("a shared node cannot repeat", path=path + ("repeat",), at_key=True))
    if "tie" in raw:
        problems += _tie(item, raw, path + ("tie",))
    if "description" in raw and not isinstance(raw["description"], str):
        problems.append(SpecError("expected a string", path=path + ("description",)))
    return problems


def _tie(item: Any, raw: dict[str, Any], path: SpecPath) -> list[NetspecError]:
    """``tie: {weight: wte}``: this node's parameter ``weight`` is node ``wte``'s ``weight``."""
    value = raw["tie"]
    if not isinstance(value, dict) or not value:
        return [SpecError(f"expected a mapping {{parameter: node}}, e.g. {{weight: wte}}, got {show(value)}", path=path)]
    bad = [(k, v) for k, v in value.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        return [SpecError(f"expected the name of a node to tie {show(bad[0][0])} to, got {show(bad[0][1])}",
                          path=path + (bad[0][0],))]
    if "share" in raw:
        return [SpecError("a node with `share` already uses all of the other node's weights; remove `tie`",
                          path=path, at_key=True)]
    item.tie = dict(value)
    return []


def _repeat(item: Any, value: Any, path: SpecPath) -> list[NetspecError]:
    count, first = value, None
    if isinstance(value, dict):
        extra = set(value) - {"count", "first"}
        if extra:
            return [SpecError(f"unknown key {sorted(extra)[0]!r}", path=path + (sorted(extra)[0],), at_key=True,
                              hint="repeat takes `count` and `first` (arguments for the first repetition)")]
        count, first = value.get("count"), value.get("first")
        if first is not None and not isinstance(first, dict):
            return [SpecError(f"expected a mapping of block arguments, got {show(first)}", path=path + ("first",))]
        path = path + ("count",)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        return [SpecError(f"expected a positive integer, got {show(count)}", path=path)]
    if count > MAX_REPEAT:
        return [SpecError(f"repeat {count:,} is more than {MAX_REPEAT:,}", path=path,
                          hint="a model repeats a layer or block a handful of times; check the number")]
    item.repeat, item.first = count, first
    return []
