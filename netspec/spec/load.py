"""Spec files -> validated Spec: ``extends`` bases, ``--set`` overrides, strict validation.

Locations survive every step: a value from a base file is located in the base file, a value
from ``--set`` on the command line (file ``<command line>``, line = which ``--set``).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from ..diagnostics import pydantic_errors, show
from ..errors import Location, NetspecError, SpecError, SpecErrors, SpecPath
from ..source import SourceMap, load_file, load_text
from .document import Spec

CMDLINE = "<command line>"
MAX_EXTENDS = 32  # files in one chain of `extends` (the shipped examples use at most 2)
MAX_SPEC_FILES = 256  # files read for one spec, over every chain
_SEGMENT = re.compile(r"([^\[\]]*)((?:\[\d+\])*)")


@dataclass
class LoadedSpec:
    """A validated spec with the data it came from and where every value was written."""

    spec: Spec
    data: dict[str, Any]
    source: SourceMap
    file: str


def load_data(path: str | Path, overrides: Iterable[str] = ()) -> tuple[dict[str, Any], SourceMap]:
    """Read a spec file with its bases and apply ``--set`` overrides; no validation yet."""
    data, smap = _read(Path(path), (), [0])
    for i, text in enumerate(overrides, start=1):
        _override(data, smap, text, i)
    return data, smap


def load_spec(path: str | Path, overrides: Iterable[str] = ()) -> LoadedSpec:
    """Load and validate a spec; every problem is raised at once as SpecErrors (with ``.source``)."""
    data, smap = load_data(path, overrides)
    return LoadedSpec(validate(data, smap), data, smap, str(path))


def validate(data: dict[str, Any], smap: SourceMap) -> Spec:
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        err = SpecErrors(pydantic_errors(exc, data, Spec))
        err.source = smap
        raise err from None


# ---- extends ------------------------------------------------------------------------------------

def _read(path: Path, chain: tuple[Path, ...], files: list[int]) -> tuple[dict[str, Any], SourceMap]:
    """``path`` merged over its bases; ``files`` counts the files read for this spec (a list of bases
    in every base of a chain multiplies them, so the total is bounded as well as the depth)."""
    files[0] += 1
    if files[0] > MAX_SPEC_FILES:
        raise SpecError(f"`extends` reads more than {MAX_SPEC_FILES} files for one spec", location=Location(str(path), 1, 1),
                        hint="bases that extend several bases each multiply; share fewer, larger bases")
    data, smap = load_file(path)
    if not isinstance(data, dict):
        raise SpecError(f"a spec is a mapping of keys (netspec, inputs, model, ...), got {show(data)}",
                        location=Location(str(path), 1, 1))
    bases = data.pop("extends", None)
    if bases is None:
        return data, smap
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise _located(SpecError(f"expected a file name or a list of them, got {show(bases)}", path=("extends",)), smap)
    merged: dict[str, Any] = {}
    msmap = SourceMap()
    here = _resolve(path, path, ("extends",), smap)
    if len(chain) + 1 >= MAX_EXTENDS:
        shown = " -> ".join(p.name for p in chain[:3]) + " -> ... -> " + path.name
        raise _located(SpecError(f"`extends` goes {MAX_EXTENDS} files deep ({shown})", path=("extends",),
                                 hint=f"a spec extends at most {MAX_EXTENDS - 1} bases in a chain; fold some of them "
                                      f"into one"), smap)
    for i, base in enumerate(bases):
        where: SpecPath = ("extends", i)
        target = _resolve(path.parent / base, path, where, smap)
        if target == here or target in chain:
            raise _located(SpecError(f"{base!r} extends itself (a cycle of extends)", path=where), smap)
        if not target.is_file():
            raise _located(SpecError(f"base spec {base!r} not found (looked in {path.parent})", path=where), smap)
        bdata, bsmap = _read(target, chain + (here,), files)
        merged = _merge(merged, msmap, bdata, bsmap, ())
    return _merge(merged, msmap, data, smap, ()), msmap


def _resolve(target: Path, spec: Path, where: SpecPath, smap: SourceMap) -> Path:
    """``target`` with its symlinks resolved; a symlink loop is a located error, not a RuntimeError."""
    try:
        return target.resolve()
    except (RuntimeError, OSError) as exc:  # Python < 3.13 raises RuntimeError("Symlink loop ...")
        raise _located(SpecError(f"cannot follow {target}: a symlink loop" if "loop" in str(exc).lower()
                                 else f"cannot follow {target}: {exc}", path=where,
                                 hint="point the link at a real file"), smap) from None


def _merge(base: dict[str, Any], bsmap: SourceMap, over: dict[str, Any], osmap: SourceMap, path: SpecPath) -> dict[str, Any]:
    """Deep-merge ``over`` into ``base``: mappings merge key by key, anything else is replaced."""
    out = dict(base)
    if path in osmap.values:
        bsmap.add(path, osmap.values[path], osmap.keys.get(path))
    for key, value in over.items():
        sub = path + (key,)
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], bsmap, value, osmap, sub)
        else:
            out[key] = value
            bsmap.drop(sub)
            for p, loc in osmap.values.items():
                if p[: len(sub)] == sub:
                    bsmap.add(p, loc, osmap.keys.get(p))
    return out


def _located(err: NetspecError, smap: SourceMap) -> NetspecError:
    err.source = smap
    return err


# ---- --set --------------------------------------------------------------------------------------

def override(key: str, value: Any) -> str:
    """The ``--set`` text that sets spec path ``key`` to ``value`` (the inverse of reading one)."""
    return f"{key}={json.dumps(value)}"


def overrides(values: dict[str, Any]) -> list[str]:
    """``--set`` texts for spec values (path -> value)."""
    return [override(k, v) for k, v in values.items()]


def parse_path(text: str) -> SpecPath:
    """``train.optimizer.lr`` or ``model.layers[3].linear.out_features`` (``layers.3`` works too)."""
    parts: list[Any] = []
    for seg in text.split("."):
        m = _SEGMENT.fullmatch(seg)
        if not m or not (m.group(1) or m.group(2)):
            raise ValueError(text)
        if m.group(1):
            parts.append(int(m.group(1)) if m.group(1).isdigit() else m.group(1))
        parts += [int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))]
    return tuple(parts)


def _override(data: dict[str, Any], smap: SourceMap, text: str, index: int) -> None:
    key, sep, value_text = text.partition("=")
    if not sep or not key.strip():
        raise SpecError(f"--set takes KEY=VALUE, got {text!r}", location=Location(CMDLINE, index, 1),
                        hint="e.g. --set train.optimizer.lr=3.0e-4")
    try:
        path = parse_path(key.strip())
    except ValueError:
        raise SpecError(f"--set: {key!r} is not a spec path", location=Location(CMDLINE, index, 1),
                        hint="write keys separated by dots, list items as [i]: model.layers[2].linear.out_features") from None
    col = len(key) + 2
    try:
        value, vsmap = load_text(value_text, CMDLINE)
    except SpecError as exc:
        loc = exc.location
        exc.location = Location(CMDLINE, index, col + (loc.col - 1 if loc else 0))
        raise
    parent: Any = data  # a mapping or a list, walked down the path
    for i, part in enumerate(path[:-1]):
        nxt = parent[part] if _has(parent, part) else None
        if nxt is None:
            if isinstance(parent, list):
                raise _set_error(path[: i + 1], parent, index)
            parent[part] = nxt = {}
            smap.add(path[: i + 1], Location(CMDLINE, index, 1), Location(CMDLINE, index, 1))
        if not isinstance(nxt, (dict, list)):
            raise SpecError(f"--set: {'.'.join(map(str, path[: i + 1]))} is {show(nxt)}, not a mapping or list",
                            location=Location(CMDLINE, index, 1))
        parent = nxt
    last = path[-1]
    if isinstance(parent, list) and not (isinstance(last, int) and last < len(parent)):
        raise _set_error(path, parent, index)
    if isinstance(parent, dict) and isinstance(last, int):
        raise _set_error(path, parent, index)
    parent[last] = copy.deepcopy(value)
    smap.drop(path)
    for p, loc in vsmap.values.items():
        smap.add(path + p, Location(CMDLINE, index, col + loc.col - 1 if loc.line == 1 else loc.col), Location(CMDLINE, index, 1))


def _has(parent: Any, part: Any) -> bool:
    if isinstance(parent, dict):
        return part in parent
    return isinstance(part, int) and 0 <= part < len(parent)


def _set_error(path: SpecPath, parent: Any, index: int) -> SpecError:
    n = len(parent) if isinstance(parent, list) else 0
    where = ".".join(map(str, path))
    what = f"a list with {n} item(s)" if isinstance(parent, list) else "a mapping"
    return SpecError(f"--set: {where} does not exist ({'.'.join(map(str, path[:-1])) or 'the spec'} is {what})",
                     location=Location(CMDLINE, index, 1))
