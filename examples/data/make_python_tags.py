"""Build python_tags.jsonl: Python source from the standard library, tokenized, every identifier tagged
by the role its context gives it. The data of examples/python_tagger.yaml (a sequence tagger).

    python examples/data/make_python_tags.py          # rewrites examples/data/python_tags.jsonl

Tokens come from the `tokenize` module run over the modules in MODULES (this interpreter's own files;
the committed file was made with CPython 3.11). Comments, blank lines and indentation tokens are
dropped; strings become <str> and numbers <num>; the end of each logical line is <nl>. Token ids:
0 pads, 1 is <unk> (any token outside the VOCAB_SIZE most frequent ones), then by frequency.

Each identifier (a NAME token that is not a keyword) gets one tag; every other token gets -100,
netspec's default ignore index, so the loss and the metrics count identifiers only:

    0 def    the name a `def` or `class` statement defines         def main(  /  class Parser:
    1 call   called: the next token is `(`                          print(x)  /  self.append(y)
    2 attr   an attribute that is not called: after `.`             self.name  /  os.path
    3 param  a parameter name in a `def` header                     def f(self, text, width=70):
    4 store  assigned: right before `=` (or `+=`, ...) outside      count = 0  /  total += x
             brackets
    5 other  anything else (uses, keyword arguments, imports, ...)  for item in items:

(first rule that applies). Deciding needs both sides of the name: `def`/`.` before it, `(` or `=`
after it, and for a parameter the whole header from `def` on (`f(x=1)` passes a keyword argument,
`def f(x=1)` declares a parameter); the name itself helps too (print is mostly called, self never
assigned). Logical lines
are packed in file order into sequences of at most MAX_LEN tokens (a longer line is cut), one JSON
object per sequence: {"tokens": [ids], "tags": [tags]}.
"""

from __future__ import annotations

import io
import json
import keyword
import sys
import tokenize
from collections import Counter
from pathlib import Path

MODULES = ["argparse", "textwrap", "difflib", "functools", "shlex", "csv", "statistics", "string"]
MAX_LEN = 48
VOCAB_SIZE = 500  # ids 2 … VOCAB_SIZE + 1; the rest is <unk>
IGNORE = -100
DEF, CALL, ATTR, PARAM, STORE, OTHER = range(6)
ASSIGN = {"=", "+=", "-=", "*=", "/=", "//=", "%=", "**=", "|=", "&=", "^=", ">>=", "<<=", "@="}
OUT = Path(__file__).with_name("python_tags.jsonl")
SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
FSTRING_START, FSTRING_END = getattr(tokenize, "FSTRING_START", -1), getattr(tokenize, "FSTRING_END", -1)


def module_file(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise SystemExit(f"{name}: not a pure-Python standard-library module here")
    return Path(spec.origin)


def logical_lines(source: str) -> list[list[tuple[str, bool]]]:
    """Each logical line as (token text, is identifier) pairs; f-strings (3.12+) become one <str>."""
    lines, line, depth = [], [], 0
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == FSTRING_START:
            depth += 1
            continue
        if tok.type == FSTRING_END:
            depth -= 1
            if depth == 0:
                line.append(("<str>", False))
            continue
        if depth or tok.type in SKIP:
            continue
        if tok.type == tokenize.NEWLINE:
            if line:
                lines.append(line + [("<nl>", False)])
            line = []
        elif tok.type == tokenize.STRING:
            line.append(("<str>", False))
        elif tok.type == tokenize.NUMBER:
            line.append(("<num>", False))
        else:
            line.append((tok.string, tok.type == tokenize.NAME and not keyword.iskeyword(tok.string)))
    return lines


def tags(line: list[tuple[str, bool]]) -> list[int]:
    out = []
    depth, header = 0, None  # bracket depth; the depth of a def header's parameter list while inside it
    for i, (text, is_name) in enumerate(line):
        before = line[i - 1][0] if i else None
        after = line[i + 1][0] if i + 1 < len(line) else None
        if not is_name:
            out.append(IGNORE)
        elif before in ("def", "class"):
            out.append(DEF)
            header = depth + 1 if before == "def" else None
        elif after == "(":
            out.append(CALL)
        elif before == ".":
            out.append(ATTR)
        elif header == depth and before in ("(", ",", "*", "**") and after in (",", ")", "=", ":"):
            out.append(PARAM)
        elif depth == 0 and after in ASSIGN:
            out.append(STORE)
        else:
            out.append(OTHER)
        if text in ("(", "[", "{"):
            depth += 1
        elif text in (")", "]", "}"):
            depth -= 1
            header = None if header is not None and depth < header else header
    return out


def sequences(lines: list[list[tuple[str, bool]]]) -> list[tuple[list[str], list[int]]]:
    """Tag each line whole (context inside the line), then pack lines into sequences of <= MAX_LEN tokens."""
    out: list[tuple[list[str], list[int]]] = []
    words: list[str] = []
    labels: list[int] = []
    for line in lines:
        text, tag = [t for t, _ in line], tags(line)
        for s in range(0, len(text), MAX_LEN):
            piece, piece_tags = text[s: s + MAX_LEN], tag[s: s + MAX_LEN]
            if len(words) + len(piece) > MAX_LEN:
                out.append((words, labels))
                words, labels = [], []
            words, labels = words + piece, labels + piece_tags
    if words:
        out.append((words, labels))
    return out


def main() -> None:
    seqs = []
    for name in MODULES:
        seqs += sequences(logical_lines(module_file(name).read_text(encoding="utf-8")))
    counts = Counter(t for words, _ in seqs for t in words)
    vocab = {t: i + 2 for i, (t, _) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:VOCAB_SIZE])}
    with open(OUT, "w", encoding="utf-8") as fh:
        for words, labels in seqs:
            fh.write(json.dumps({"tokens": [vocab.get(t, 1) for t in words], "tags": labels}, separators=(",", ":")) + "\n")
    named = Counter(t for _, labels in seqs for t in labels if t != IGNORE)
    print(f"{OUT.name}: {len(seqs)} sequences, {sum(len(w) for w, _ in seqs)} tokens, {sum(named.values())} identifiers "
          f"(def/call/attr/param/store/other: {[named[k] for k in range(6)]}), {OUT.stat().st_size / 1024:.0f} KiB, "
          f"Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
