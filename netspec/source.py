"""YAML text -> plain data plus a SourceMap (the line and column of every key and value).

Safe by construction: we compose the YAML node graph and build Python data ourselves, so no
constructor ever runs and no tag can instantiate anything. On the way we

* reject duplicate keys (PyYAML silently keeps the last one),
* resolve scalars by the YAML 1.2 core schema: ``1e-3`` is a float, ``yes``/``on`` are strings,
  ``010`` is ten,
* reject explicit non-standard tags (``!!python/object``, ``!custom``),
* bound the expansion of aliases (a "billion laughs" document is an error, not an OOM),
* bound nesting depth and node count in a first pass over the parser's events, before anything
  is composed: libyaml's composer recurses in C (a document nested 50,000 levels deep crashes the
  process) and its scanner is quadratic in nesting depth, so both limits are checked while the
  parse is still cheap,
* refuse integers beyond 64 bits (no spec value needs them, and Python will not print an integer
  of more than 4,300 digits).

No pydantic and no torch here.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import Location, SpecError, SpecPath
from .yaml_hints import explain

MAX_BYTES = 16 * 1024 * 1024
MAX_VALUES = 50_000  # values after alias expansion (the largest shipped spec has under 200)
MAX_DEPTH = 64  # nesting levels of mappings and lists (shipped specs use fewer than 12)
MAX_INT = 2**63 - 1

_STD = "tag:yaml.org,2002:"
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


_PLAIN_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null", "seq", "map")}

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present (10x faster)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """A safe loader whose implicit scalar resolution follows the YAML 1.2 core schema."""


_Loader.yaml_implicit_resolvers = {}
for _tag, _rx, _first in (
    ("null", _NULL, ["~", "n", "N", ""]),
    ("bool", _BOOL, list("tTfF")),
    ("int", _INT, list("-+0123456789")),
    ("float", _FLOAT, list("-+0123456789.")),
    ("merge", re.compile(r"^<<$"), ["<"]),
):
    _Loader.add_implicit_resolver(_STD + _tag, _rx, _first)


class SourceMap:
    """Spec path -> Location of the value, and of the key that holds it."""

    def __init__(self) -> None:
        self.values: dict[SpecPath, Location] = {}
        self.keys: dict[SpecPath, Location] = {}

    def add(self, path: SpecPath, value: Location, key: Location | None = None) -> None:
        self.values[path] = value
        if key is not None:
            self.keys[path] = key

    def locate(self, path: SpecPath, at_key: bool = False) -> Location | None:
        """The closest known location of ``path``: its key or value, else its nearest parent."""
        path = tuple(path)
        if at_key and path in self.keys:
            return self.keys[path]
        while True:
            if path in self.values:
                return self.values[path]
            if not path:
                return None
            path = path[:-1]

    def update(self, other: "SourceMap", prefix: SpecPath = ()) -> None:
        """Take ``other``'s locations (under ``prefix``), replacing those at the same paths."""
        for p, loc in other.values.items():
            self.values[prefix + p] = loc
        for p, loc in other.keys.items():
            self.keys[prefix + p] = loc

    def drop(self, prefix: SpecPath) -> None:
        """Forget every location at or below ``prefix`` (the data there was replaced)."""
        n = len(prefix)
        for table in (self.values, self.keys):
            for p in [p for p in table if p[:n] == prefix and len(p) > n]:
                del table[p]


def load_text(text: str, file: str = "<string>") -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain data (dict/list/str/int/float/bool/None) + SourceMap."""
    if len(text) > MAX_BYTES:
        raise SpecError(
            f"file is {len(text) / 1e6:.1f} MB; specs are limited to {MAX_BYTES // 2**20} MiB",
            location=Location(file, 1, 1),
        )
    try:
        _prescan(text, file)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        plain = explain(text, problem, loc.line) if mark else None  # a tab, a misaligned key: in plain words
        if plain is not None:
            raise SpecError(f"invalid YAML: {plain.message}", hint=plain.hint,
                            location=Location(file, plain.line, plain.col)) from None
        raise SpecError(f"invalid YAML: {problem}", location=loc) from None
    except yaml.reader.ReaderError as exc:  # control characters, bad bytes
        pos = exc.position if isinstance(exc.position, int) else 0
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        char = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise SpecError(f"invalid YAML: unacceptable character {char}: {exc.reason}",
                        location=Location(file, line, col)) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", location=Location(file, 1, 1)) from None
    except RecursionError:  # the pure-Python composer (no libyaml); the prescan bounds depth first
        raise SpecError(f"nesting deeper than {MAX_DEPTH} levels", location=Location(file, 1, 1)) from None
    smap = SourceMap()
    if node is None:
        return None, smap
    builder = _Builder(file, smap)
    return builder.build(node, ()), smap


_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_NODE = (yaml.ScalarEvent, yaml.AliasEvent) + _OPEN


def _prescan(text: str, file: str) -> None:
    """Walk the parser's events (iterative, no composing) and stop early at MAX_DEPTH nesting
    levels or MAX_VALUES nodes, so neither the composer nor the builder sees such a document."""
    loader = _Loader(text)
    try:
        depth = nodes = 0
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, _NODE):
                nodes += 1
                if nodes > MAX_VALUES:
                    raise SpecError(f"document has more than {MAX_VALUES:,} values", hint="specs are small documents",
                                    location=_mark(event, file))
            if isinstance(event, _OPEN):
                depth += 1
                if depth > MAX_DEPTH:
                    raise SpecError(f"nesting deeper than {MAX_DEPTH} levels", hint="specs are shallow documents",
                                    location=_mark(event, file))
            elif isinstance(event, _CLOSE):
                depth -= 1
    finally:
        loader.dispose()


def _mark(event: yaml.Event, file: str) -> Location:
    mark = event.start_mark
    return Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)


def load_file(path: str | Path) -> tuple[Any, SourceMap]:
    """Read and parse a spec file; a missing or unreadable file is a located SpecError. Only a regular
    file is read (a FIFO would block, a device such as /dev/zero never ends), and the size limit holds
    while reading, not only by what ``stat`` says."""
    raw = read_regular(path, MAX_BYTES, "spec")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"spec is not UTF-8 text (byte {exc.start})", location=Location(str(path), 1, 1)
        ) from None
    return load_text(text, str(path))


def read_regular(path: str | Path, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; anything else is a located SpecError."""
    import stat

    where = Location(str(path), 1, 1)
    try:
        st = os.stat(path)  # follows symlinks: a committed link to /dev/zero is a device too
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode) else \
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file"
            raise SpecError(f"{path} is {kind}, not a {what} file", location=where,
                            hint=f"name a regular {what} file")
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise SpecError(f"cannot read {what}: {exc.strerror or exc}", location=where) from None
    if len(raw) > limit:
        raise SpecError(f"file is over {limit // 2**20} MiB; {what}s are limited to {limit // 2**20} MiB",
                        location=where)
    return raw


def plain_value(text: str) -> Any:
    """What ``text`` would be written as a plain (unquoted) YAML scalar: null, a bool, an int, a
    float, or the string itself (e.g. for "the value is a quoted number" diagnostics)."""
    loc = Location("<text>", 1, 1)
    try:
        for rx, parse in ((_NULL, lambda t: None), (_BOOL, lambda t: t.lower() == "true"),
                          (_INT, lambda t: _parse_int(t, loc)), (_FLOAT, lambda t: _parse_float(t, loc))):
            if rx.match(text):
                return parse(text)
    except SpecError:  # an integer beyond 64 bits stays a string
        pass
    return text


def parse_scalar(text: str, file: str = "<--set>") -> Any:
    """Parse a scalar or flow value the way the spec file would (used by ``--set k=v``)."""
    data, _ = load_text(text, file)
    return data


class _Builder:
    def __init__(self, file: str, smap: SourceMap) -> None:
        self.file = file
        self.smap = smap
        self.count = 0
        self.active: set[int] = set()
        self.merging: set[int] = set()  # merge sources being expanded (a cycle check)

    def loc(self, node: yaml.Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, path: SpecPath, key_loc: Location | None = None) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise SpecError(
                f"document expands to more than {MAX_VALUES:,} values",
                hint="this looks like a YAML alias bomb; specs are small documents",
                location=self.loc(node),
            )
        self.smap.add(path, self.loc(node), key_loc)
        if len(path) > MAX_DEPTH:  # aliases can nest what the text does not
            raise SpecError(f"nesting deeper than {MAX_DEPTH} levels", hint="specs are shallow documents",
                            location=self.loc(node))
        if id(node) in self.active:
            raise SpecError("recursive YAML alias", location=self.loc(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                self.check_tag(node, "seq")
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            self.check_tag(node, "map")
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))

    def check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != _STD + expected:
            raise SpecError(
                f"YAML tag {node.tag!r} is not allowed",
                hint="specs are plain data: remove the tag",
                location=self.loc(node),
            )

    def mapping(self, node: yaml.MappingNode, path: SpecPath) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first_seen: dict[Any, Location] = {}
        for key_node, value_node, merged in self.merged_pairs(node):
            key = self.key(key_node)
            key_loc = self.loc(key_node)
            if key in first_seen and not merged:
                prev = first_seen[key]
                raise SpecError(
                    f"duplicate key {key!r} (first defined at line {prev.line})",
                    hint="YAML keeps only one of them: remove or rename one",
                    location=key_loc,
                )
            first_seen[key] = key_loc
            out[key] = self.build(value_node, path + (key,), key_loc)
        return out

    def merged_pairs(self, node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node, bool]]:
        """Apply YAML merge keys (``<<: *base``): merged pairs first, explicit keys override.
        The flag marks pairs that came from a merge (they may be overridden without a
        duplicate-key error)."""
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        own: list[tuple[yaml.Node, yaml.Node, bool]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _STD + "merge":
                if isinstance(value_node, yaml.SequenceNode):
                    self.check_tag(value_node, "seq")
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for src in sources:
                    if not isinstance(src, yaml.MappingNode):
                        if src.tag not in _PLAIN_TAGS:  # a tagged merge source: name the tag
                            self.check_tag(src, "map")
                        raise SpecError("a merge key (<<) takes a mapping or a list of mappings",
                                        location=self.loc(src))
                    self.check_tag(src, "map")
                    merged.extend((k, v) for k, v, _ in self.merged_pairs_of(src))
            else:
                own.append((key_node, value_node, False))
        own_keys = {self.key(k) for k, _, _ in own}
        keep: dict[Any, tuple[yaml.Node, yaml.Node, bool]] = {}
        for k, v in merged:
            if self.key(k) not in own_keys:
                keep[self.key(k)] = (k, v, True)
        return list(keep.values()) + own

    def merged_pairs_of(self, src: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node, bool]]:
        """The pairs a merge source contributes. Every pair counts against the value budget (merges of
        merges multiply: nine-fold merges eight levels deep are 43 million pairs from 450 bytes), and a
        source that merges itself back in (``a: &a {<<: *a}``) is an error, not a RecursionError."""
        if id(src) in self.merging:
            raise SpecError("a merge key (<<) refers back to the mapping it is in", location=self.loc(src),
                            hint="merge another mapping, not this one or one that merges it")
        if len(self.merging) >= MAX_DEPTH:
            raise SpecError(f"merge keys (<<) nested deeper than {MAX_DEPTH} levels", location=self.loc(src),
                            hint="specs are shallow documents")
        self.merging.add(id(src))
        try:
            pairs = self.merged_pairs(src)
        finally:
            self.merging.discard(id(src))
        self.count += len(pairs)
        if self.count > MAX_VALUES:
            raise SpecError(f"document expands to more than {MAX_VALUES:,} values",
                            hint="this looks like a YAML merge-key bomb; specs are small documents",
                            location=self.loc(src))
        return pairs

    def key(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.check_tag(node, "seq" if isinstance(node, yaml.SequenceNode) else "map")  # a tagged key: name the tag
            raise SpecError("mapping keys must be plain scalars", location=self.loc(node))
        value = self.scalar(node)
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise SpecError(f"mapping keys must be names, got {value!r}", location=self.loc(node))
        return value

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag, value = node.tag, node.value
        if tag == _STD + "str":
            return value
        if tag == _STD + "null":
            return None
        if tag == _STD + "bool":
            return value.lower() == "true"
        if tag == _STD + "int":
            return _parse_int(value, self.loc(node))
        if tag == _STD + "float":
            return _parse_float(value, self.loc(node))
        raise SpecError(
            f"YAML tag {tag!r} is not allowed",
            hint="specs are plain data: remove the tag",
            location=self.loc(node),
        )


def _parse_int(text: str, loc: Location) -> int:
    t = text.replace("_", "")
    digits = len(t.lstrip("+-").lstrip("0"))
    if digits > 40:  # more digits than any 64-bit integer has, in any base
        raise SpecError(f"integer of {digits} digits is out of range", hint=f"integers are at most {MAX_INT:,}",
                        location=loc)
    try:
        if t.startswith("0x"):
            value = int(t[2:], 16)
        elif t.startswith("0o"):
            value = int(t[2:], 8)
        else:
            value = int(t, 10)
    except ValueError:
        raise SpecError(f"not an integer: {text!r}", location=loc) from None
    if abs(value) > MAX_INT:
        raise SpecError(f"integer {value:,} is out of range", hint=f"integers are at most {MAX_INT:,}", location=loc)
    return value


def _parse_float(text: str, loc: Location) -> float:
    t = text.replace("_", "").lower()
    if t.endswith("inf"):
        return -math.inf if t.startswith("-") else math.inf
    if t.endswith("nan"):
        return math.nan
    try:
        return float(t)
    except ValueError:
        raise SpecError(f"not a number: {text!r}", location=loc) from None
