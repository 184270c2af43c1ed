"""Errors -> located diagnostics.

``pydantic_errors`` turns a pydantic ValidationError into SpecErrors with spec paths (tag segments
of discriminated unions skipped, union branches merged into one "expected A or B" message, unknown
keys with a did-you-mean). ``diagnose`` resolves paths to file:line:col through a SourceMap, and
``format_text``/``format_github``/``as_json`` render them. Nothing here prints.
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import asdict, dataclass
from difflib import get_close_matches
from typing import Any, Iterable, Sequence

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .errors import Location, NetspecError, SpecError, SpecErrors, SpecPath, format_path
from .source import SourceMap, plain_value


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int
    col: int
    path: str
    message: str
    hint: str | None = None
    severity: str = "error"
    notes: tuple[str, ...] = ()


def did_you_mean(word: object, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, if one is close."""
    close = get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def show(value: Any, limit: int = 40) -> str:
    """A short YAML-ish rendering of a user's value for messages."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- pydantic ----------------------------------------------------------------------------------

_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "a string", "list_type": "a list", "tuple_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
    "none_required": "null",
}


def pydantic_errors(exc: ValidationError, data: Any, root: type[BaseModel], base: SpecPath = ()) -> list[SpecError]:
    """Convert a ValidationError raised while validating ``data`` as ``root`` (found at ``base``)."""
    grouped: dict[tuple[SpecPath, Any], list[ErrorDetails]] = {}
    for err in exc.errors(include_url=False):
        path = _data_path(err["loc"], data)
        grouped.setdefault((path, err["type"] in ("missing", "extra_forbidden") and err["loc"][-1]), []).append(err)
    out: list[SpecError] = []
    for (path, _), errs in grouped.items():
        out.append(_one(errs, base + path, path, data, root))
    return out


def _data_path(loc: Sequence[Any], data: Any) -> SpecPath:
    """Keep the loc segments that index into the data (drops union-branch and tag segments)."""
    path: list[Any] = []
    cur = data
    for seg in loc:
        if isinstance(cur, dict) and seg in cur:
            cur = cur[seg]
            path.append(seg)
        elif isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur):
            cur = cur[seg]
            path.append(seg)
    return tuple(path)


def _one(errs: list[ErrorDetails], full: SpecPath, rel: SpecPath, data: Any, root: type[BaseModel]) -> SpecError:
    first = errs[0]
    kind, ctx = first["type"], first.get("ctx") or {}
    if kind == "missing":
        key = first["loc"][-1]
        return SpecError(f"missing required key {key!r}", path=full, at_key=True)
    if kind == "extra_forbidden":
        key = first["loc"][-1]
        fields = _fields_at(root, first["loc"][:-1], data)
        hint = did_you_mean(key, fields) or (f"valid keys: {', '.join(sorted(fields))}" if fields else None)
        return SpecError(f"unknown key {key!r}", path=full, hint=hint, at_key=True)
    if kind == "union_tag_invalid":
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        return SpecError(f"unknown type {show(ctx.get('tag'))}", path=full + ("type",),
                         hint=did_you_mean(ctx.get("tag"), tags) or f"one of: {', '.join(tags)}")
    if kind == "union_tag_not_found":
        return SpecError("missing `type`", path=full, hint="write {type: NAME, ...} or just NAME")
    if rel == ("netspec",) and kind == "literal_error":
        return SpecError(f"unsupported spec version {show(first['input'])}; this netspec reads version 1",
                         path=full, hint="write `netspec: 1`")
    expected = []
    for e in errs:
        phrase = _expected(e)
        if phrase and phrase not in expected:
            expected.append(phrase)
    if not expected:
        msg = first["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return SpecError(msg, path=full)
    value = first.get("input")
    if isinstance(value, str) and _quoted_scalar(value, errs):
        key = f"{rel[-1]}: " if rel and isinstance(rel[-1], str) else ""
        return SpecError(f"expected {' or '.join(expected)}, got {show(value)}, a quoted string", path=full,
                         hint=f"remove the quotes: {key}{value}")
    choices = [c for e in errs if e["type"] == "literal_error" for c in re.findall(r"'([^']*)'", str(e["ctx"]["expected"]))]
    hint = did_you_mean(value, choices) if isinstance(value, str) and choices else None
    return SpecError(f"expected {' or '.join(expected)}, got {show(value)}", path=full, hint=hint)


def _quoted_scalar(value: str, errs: list[ErrorDetails]) -> bool:
    """The string is what a quoted number or boolean becomes, and that number or boolean would do."""
    plain = plain_value(value)
    if isinstance(plain, str) or plain is None:
        return False
    for e in errs:
        kind = e["type"]
        if isinstance(plain, bool):
            if kind in ("bool_type", "bool_parsing"):
                return True
        elif kind in ("int_type", "int_parsing") and isinstance(plain, int) or kind in ("float_type", "float_parsing"):
            return True
        elif kind == "literal_error" and str(plain) in re.split(r",\s*|\s+or\s+", str(e["ctx"]["expected"])):
            return True
    return False


def _expected(err: ErrorDetails) -> str | None:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    if kind == "literal_error":
        return f"one of {ctx.get('expected')}"
    bounds = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<", "less_than_equal": "≤"}
    if kind in bounds:
        bound = next(iter(ctx.values()))
        return "a positive number" if kind == "greater_than" and bound == 0 else f"a value {bounds[kind]} {bound}"
    if kind == "too_short":
        return f"at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} item(s)"
    if kind == "string_pattern_mismatch":
        return "a name (letters, digits and _, not starting with a digit)"
    return None


def _unwrap(t: Any) -> Any:
    while True:
        origin = typing.get_origin(t)
        if origin is typing.Annotated:
            t = typing.get_args(t)[0]
        elif origin is typing.Union:
            members = [a for a in typing.get_args(t) if a is not type(None)]
            if len(members) != 1:
                return t
            t = members[0]
        else:
            return t


def _fields_at(root: type[BaseModel], loc: Sequence[Any], data: Any) -> list[str]:
    """Field names of the model found at ``loc`` (for did-you-mean on unknown keys)."""
    t: Any = root
    cur = data
    for seg in loc:
        t = _unwrap(t)
        if isinstance(cur, dict) and seg in cur:
            cur = cur[seg]
        elif isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur):
            cur = cur[seg]
        if isinstance(t, type) and issubclass(t, BaseModel):
            field = t.model_fields.get(seg)
            if field is not None:
                t = field.annotation
            continue
        origin = typing.get_origin(t)
        if origin is list:
            t = typing.get_args(t)[0]
        elif origin is dict:
            t = typing.get_args(t)[1]
        elif origin is typing.Union:
            t = _member_by_tag(t, seg) or t
    t = _unwrap(t)
    if typing.get_origin(t) is typing.Union and isinstance(cur, dict):
        t = _member_by_tag(t, cur.get("type")) or t
    if isinstance(t, type) and issubclass(t, BaseModel):
        return [f.alias or name for name, f in t.model_fields.items()]
    return []


def _member_by_tag(union: Any, tag: Any) -> Any:
    for member in typing.get_args(union):
        member = _unwrap(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            field = member.model_fields.get("type")
            if field is not None and tag in typing.get_args(field.annotation):
                return member
    return None


# ---- rendering ---------------------------------------------------------------------------------

def diagnose(error: NetspecError, smap: SourceMap | None, file: str) -> list[Diagnostic]:
    """Locate an error (or each error of a SpecErrors) through the SourceMap."""
    errors = error.errors if isinstance(error, SpecErrors) else [error]
    return [_diagnostic(e, smap, file) for e in errors]


def _diagnostic(e: NetspecError, smap: SourceMap | None, file: str) -> Diagnostic:
    loc = e.location or (smap.locate(e.path, e.at_key) if smap and e.path else None) or Location(file, 1, 1)
    path = format_path(e.path)
    if e.context:
        path = f"{path} ({e.context})" if path else e.context
    notes = tuple(_note(n, smap, file) for n in getattr(e, "notes", ()))
    return Diagnostic(loc.file, loc.line, loc.col, path, e.message, e.hint, e.kind, notes)


def _note(note: tuple[SpecPath, str], smap: SourceMap | None, file: str) -> str:
    path, text = note
    loc = (smap.locate(path) if smap else None) or Location(file, 1, 1)
    return f"{loc}: {format_path(path)}: {text}"


def format_text(d: Diagnostic) -> str:
    """``file:line:col: path: message`` (``file: path: message`` for a problem with a whole file or
    folder, line 0: a checkpoint, a run directory, a data file without a row to point at)."""
    head = f"{d.file}:{d.line}:{d.col}: " if d.line else f"{d.file}: "
    if d.severity != "error":
        head += f"{d.severity}: "
    head += f"{d.path}: {d.message}" if d.path else d.message
    lines = [head] + [f"  note: {n}" for n in d.notes]
    if d.hint:
        lines.append(f"  hint: {d.hint}")
    return "\n".join(lines)


def format_github(d: Diagnostic) -> str:
    """A GitHub Actions workflow command (annotates the line in the pull request)."""
    level = "error" if d.severity == "error" else "warning"
    text = f"{d.path}: {d.message}" if d.path else d.message
    if d.hint:
        text += f" (hint: {d.hint})"
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    file = d.file.replace(",", "%2C").replace(":", "%3A")
    where = f",line={d.line},col={d.col}" if d.line else ""
    return f"::{level} file={file}{where}::{text}"


def as_json(d: Diagnostic) -> dict[str, Any]:
    out = asdict(d)
    out["notes"] = list(d.notes)
    return out
