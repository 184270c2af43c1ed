"""Plain words for the YAML syntax errors a user meets first: a tab in the indentation, and a key
or list item indented to a column that lines up with nothing above it.

The parser's own words ("found character that cannot start any token", "did not find expected
key") name neither the tab nor the misaligned line. ``explain(text, problem, line)`` looks at the
text at the line the parser stopped on and returns an Explanation (message, hint, line, col) for
one of these mistakes, or None (the caller keeps the parser's message). Text only: no YAML
parsing, no pydantic, no torch.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional

_LEAD = re.compile(r"[ \t]*(?:-[ \t]+)*")  # indentation and "- " markers
_MARKERS = re.compile(r"^( *)((?:-(?: +|$))*)")
_KEY = re.compile(r"""(?:[^\s'"#{\[\]},&*!|>%@`-][^:#]*?|'[^']*'|"[^"]*")\s*:(?=\s|$)""")
#: what the parsers (libyaml and PyYAML's own) say when a line does not fit the block structure
_STRUCTURE = ("did not find expected key", "expected <block end>", "mapping values are not allowed",
              "did not find expected '-' indicator", "could not find expected ':'")


class Explanation(NamedTuple):
    message: str
    hint: str
    line: int  # 1-based
    col: int   # 1-based


class _Opener(NamedTuple):
    """A line that starts a mapping entry ("key:") or a list item ("- ")."""
    line: int            # 1-based
    dashes: tuple        # the columns (0-based) of its "- " markers
    key: Optional[str]   # the key, if the line holds one
    col: int             # where the key (or the item's content) starts
    opens_block: bool    # nothing follows "key:" or "-": the next lines may nest deeper

    @property
    def left(self) -> int:
        return self.dashes[0] if self.dashes else self.col


def explain(text: str, problem: str, line: int) -> Optional[Explanation]:
    """An explanation of the YAML error ``problem`` that the parser reported on ``line`` (1-based)."""
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return None
    tab = _tab(lines[line - 1], line)
    if tab or not any(p in problem for p in _STRUCTURE):
        return tab
    return _indentation(lines, line)


def _tab(text: str, line: int) -> Optional[Explanation]:
    lead = _LEAD.match(text).group(0)
    if "\t" not in lead:
        return None
    return Explanation("tabs are not allowed in YAML indentation; use spaces",
                       "indent with spaces only (set the editor to insert spaces for the Tab key)",
                       line, lead.index("\t") + 1)


def _opener(number: int, text: str) -> Optional[_Opener]:
    if not text.strip() or text.lstrip().startswith("#"):
        return None
    m = _MARKERS.match(text)
    dashes, pos = [], len(m.group(1))
    for marker in re.findall(r"-(?: +|$)", m.group(2)):
        dashes.append(pos)
        pos += len(marker)
    rest = text[pos:]
    key = _KEY.match(rest)
    if key is None and not dashes:
        return None  # a continuation line (a multi-line value, block scalar text, a flow collection)
    after = rest[key.end():] if key else rest
    opens = not after.strip() or after.strip().startswith("#")
    name = key.group(0)[:-1].strip().strip("'\"") if key else None
    return _Opener(number, tuple(dashes), name, pos, opens)


def _chain(lines: list[str], line: int) -> list[_Opener]:
    """The openers above ``line`` whose blocks may still be open: each further left than the last."""
    chain: list[_Opener] = []
    for n in range(line - 1, 0, -1):
        above = _opener(n, lines[n - 1])
        if above is None:
            continue
        # a list may start at its key's own column ("layers:" then "- relu" below the "l")
        compact = chain and above.left == chain[-1].left and chain[-1].dashes and not above.dashes and above.opens_block
        if not chain or above.left < chain[-1].left or compact:
            chain.append(above)
            if above.left == 0:
                break
    return chain


def _indentation(lines: list[str], line: int) -> Optional[Explanation]:
    here = _opener(line, lines[line - 1])
    chain = _chain(lines, line)
    if here is None or not chain:
        return None
    is_item = bool(here.dashes)
    col = here.left
    parent = chain[0]
    if parent.opens_block and col > (parent.col if parent.key is not None else parent.dashes[-1]):
        return None  # the first line of a nested block may start at any deeper column
    targets: dict[int, str] = {}
    for o in chain:
        if is_item:
            for d in o.dashes:
                targets.setdefault(d, f"{d} (the list item on line {o.line})")
        if o.key is not None:
            targets.setdefault(o.col, f"{o.col} ('{o.key}', line {o.line})")
    if not targets or col in targets:
        return None
    options = list(targets.values())[:4]
    listed = options[0] if len(options) == 1 else ", ".join(options[:-1]) + " or " + options[-1]
    what = "the list item" if is_item else f"key '{here.key}'"
    message = (f"bad indentation: {what} is indented by {col} space{'s' * (col != 1)}, but the "
               f"{'lines' if is_item else 'keys'} above it are indented by {listed}")
    hint = ("the items of one list line up exactly: indent this '-' like the item it follows" if is_item else
            "the keys of one mapping line up exactly: indent this key like the key it belongs beside")
    return Explanation(message, hint, line, col + 1)
