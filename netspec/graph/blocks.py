"""Block arguments: static checks of a definition, typed binding at a use, and ``${arg}`` substitution.

``${name}`` as a whole value is replaced by the argument's value (keeping its type);
``${name}`` inside a longer string is interpolated as text. Every substituted value remembers
where it came from (the argument at the use, or the declared default), so an error about it
points there.
"""

from __future__ import annotations

import copy
import re
from difflib import get_close_matches
from typing import Any

from ..diagnostics import did_you_mean, show
from ..errors import SpecError, SpecPath
from ..spec.model import BlockDef

REF = re.compile(r"\$\{\s*([^}]*?)\s*\}")

#: argument name -> (value, spec path the value came from)
Bound = dict[str, tuple[Any, SpecPath]]


def find_refs(data: Any, path: SpecPath) -> list[tuple[str, SpecPath]]:
    """Every ``${name}`` in ``data`` with the path of the string holding it."""
    if isinstance(data, str):
        return [(m.group(1), path) for m in REF.finditer(data)]
    if isinstance(data, dict):
        keys = [(m.group(1), path + (k,)) for k in data if isinstance(k, str) for m in REF.finditer(k)]
        return keys + [r for k, v in data.items() for r in find_refs(v, path + (k,))]
    if isinstance(data, list):
        return [r for i, v in enumerate(data) for r in find_refs(v, path + (i,))]
    return []


def check_definition(name: str, block: BlockDef, raw: dict[str, Any], path: SpecPath) -> list[SpecError]:
    """Unknown references and unused arguments in a block definition. An argument that a
    misspelt reference probably meant is not reported as unused as well."""
    errors: list[SpecError] = []
    refs = find_refs(raw.get("layers"), path + ("layers",)) + find_refs(raw.get("outputs"), path + ("outputs",))
    used = set()
    for ref, where in refs:
        if ref in block.args:
            used.add(ref)
            continue
        close = get_close_matches(ref, list(block.args), n=1, cutoff=0.6)
        used.update(close)
        hint = f"did you mean {close[0]!r}?" if close else (
            f"declare it under blocks.{name}.args" if block.args else f"add `args: {{{ref}: int}}` to the block")
        errors.append(SpecError(f"unknown block argument ${{{ref}}}", path=where, hint=hint))
    for arg in block.args:
        if arg not in used:
            errors.append(SpecError(f"argument {arg!r} is declared but never used", path=path + ("args", arg),
                                    at_key=True, hint=f"use it as ${{{arg}}} in the block's layers, or remove it"))
    return errors


def check_no_refs(data: Any, path: SpecPath) -> list[SpecError]:
    """``${...}`` outside a block has nothing to refer to."""
    return [SpecError(f"${{{ref}}} refers to a block argument, but this is not inside a block", path=where,
                      hint="references work only in the layers of a `blocks:` definition")
            for ref, where in find_refs(data, path)]


def bind(name: str, block: BlockDef, block_path: SpecPath, given: Any, given_path: SpecPath) -> Bound:
    """Check the arguments of one use of a block against its declaration."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise SpecError(f"arguments of block {name!r} must be a mapping, got {show(given)}", path=given_path)
    errors: list[SpecError] = []
    bound: Bound = {}
    meant: set[str] = set()  # arguments a misspelt key probably meant: not reported missing too
    for key, value in given.items():
        if key not in block.args:
            meant.update(get_close_matches(str(key), list(block.args), n=1, cutoff=0.6))
            hint = did_you_mean(key, block.args) or f"{name} takes: {', '.join(block.args) or 'no arguments'}"
            errors.append(SpecError(f"block {name!r} has no argument {key!r}", path=given_path + (key,), at_key=True, hint=hint))
            continue
        problem = _type_problem(block.args[key].type, value)
        if problem:
            errors.append(SpecError(f"argument {key!r} of block {name!r}: {problem}", path=given_path + (key,)))
        bound[key] = (value, given_path + (key,))
    for arg, spec in block.args.items():
        if arg not in bound:
            if spec.required and arg not in meant:
                errors.append(SpecError(f"block {name!r} needs argument {arg!r} ({spec.type})", path=given_path,
                                        hint=f"add `{arg}: ...` to the block's arguments"))
            else:
                bound[arg] = (spec.default, block_path + ("args", arg))
    if errors:
        from ..errors import SpecErrors

        raise SpecErrors(errors)
    return bound


def _type_problem(kind: str, value: Any) -> str | None:
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "str": isinstance(value, str),
        "list": isinstance(value, list),
        "layer": isinstance(value, str) or (isinstance(value, dict) and len(value) >= 1),
        "any": True,
    }[kind]
    if ok:
        return None
    article = "an" if kind[0] in "aeiou" else "a"
    return f"expected {article} {kind}, got {show(value)}"


def substitute(data: Any, bound: Bound, path: SpecPath, origins: dict[SpecPath, SpecPath]) -> Any:
    """A copy of ``data`` with references replaced; ``origins`` records where values came from."""
    if isinstance(data, str):
        whole = REF.fullmatch(data)
        if whole:
            if whole.group(1) not in bound:
                return data  # reported by check_definition
            value, origin = bound[whole.group(1)]
            origins[path] = origin
            return copy.deepcopy(value)
        if REF.search(data):
            return REF.sub(lambda m: _text(bound, m.group(1), m.group(0)), data)
        return data
    if isinstance(data, dict):
        out: dict[Any, Any] = {}
        for k, v in data.items():
            new_key = _key(k, bound)
            out[new_key] = substitute(v, bound, path + (new_key,), origins)
            if new_key != k:
                origins.setdefault(path + (new_key,), path + (k,))
        return out
    if isinstance(data, list):
        return [substitute(v, bound, path + (i,), origins) for i, v in enumerate(data)]
    return data


def _key(key: Any, bound: Bound) -> Any:
    """A mapping key may be a reference too (a layer type passed as an argument)."""
    if not isinstance(key, str):
        return key
    whole = REF.fullmatch(key)
    if whole and whole.group(1) in bound and isinstance(bound[whole.group(1)][0], str):
        return bound[whole.group(1)][0]
    return REF.sub(lambda m: _text(bound, m.group(1), m.group(0)), key) if REF.search(key) else key


def _text(bound: Bound, name: str, original: str) -> str:
    if name not in bound:
        return original
    value = bound[name][0]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def relocate(path: SpecPath, origins: dict[SpecPath, SpecPath]) -> SpecPath:
    """Map a path inside substituted data to where its value was written."""
    for n in range(len(path), 0, -1):
        origin = origins.get(path[:n])
        if origin is not None:
            return origin + path[n:]
    return path
