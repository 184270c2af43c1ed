"""The ``stdlib_text`` source: Python's standard library as a text corpus, read at run time.

The files come from this interpreter's own standard library (``sysconfig``'s ``stdlib`` path), so
the corpus exists wherever Python does and nothing is downloaded. Modules are parsed with ``ast``
(never imported): ``docstrings`` collects the module, class and function documentation strings in
source order; ``source`` takes the files as they are. The text is tokenized like the ``text``
source (characters or whitespace-separated words), mapped to a vocabulary and cut into windows.

The ``ascii`` vocabulary is fixed: ``<pad>``, ``<unk>``, newline and the 95 printable ASCII
characters, so a model's embedding size does not depend on the Python version; anything else is
``<unk>``. The ``corpus`` vocabulary is the tokens that occur (most frequent first, ties in
alphabetical order, cut at ``max_vocab``).
"""

from __future__ import annotations

import ast
import sysconfig
from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import DataError, SpecPath
from .readers import token_windows, tokenize
from .table import Table

SPECIALS = ["<pad>", "<unk>"]
ASCII_VOCAB = SPECIALS + ["\n"] + [chr(c) for c in range(32, 127)]


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def module_files(name: str, root: Path, path: SpecPath) -> list[Path]:
    """The .py files of a standard-library module or package (tests excluded), sorted."""
    rel = Path(*name.split("."))
    single = root / rel.with_suffix(".py")
    if single.is_file():
        return [single]
    if (root / rel).is_dir():
        files = sorted(f for f in (root / rel).rglob("*.py") if not {"test", "tests"} & set(f.relative_to(root).parts))
        if files:
            return files
    raise DataError(f"{name!r} is not a pure-Python module of this Python's standard library ({root})", path=path,
                    hint="list modules such as json, email, argparse, logging")


def docstrings(source: str) -> list[str]:
    """Module, class and function documentation strings in source order."""
    out: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                out.append(doc)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return out


def stdlib_text(source, root: Path | None = None) -> str:
    """The corpus text (up to ``max_chars``)."""
    root = root or stdlib_root()
    parts: list[str] = []
    size = 0
    for i, name in enumerate(source.modules):
        for file in module_files(name, root, ("data", "source", "modules", i)):
            text = file.read_text(encoding="utf-8", errors="replace")
            pieces = docstrings(text) if source.content == "docstrings" else [text]
            parts.extend(pieces)
            size += sum(len(p) + 2 for p in pieces)
            if source.max_chars is not None and size >= source.max_chars:
                break
        if source.max_chars is not None and size >= source.max_chars:
            break
    text = "\n\n".join(parts)
    return text[: source.max_chars] if source.max_chars is not None else text


def build_vocab(tokens: list[str], source) -> list[str]:
    if source.vocab == "ascii":
        return list(ASCII_VOCAB)
    counts = Counter(tokens)
    ranked = sorted(counts, key=lambda t: (-counts[t], t))
    return SPECIALS + ranked[: source.max_vocab]


def stdlib_table(source, root: Path | None = None) -> Table:
    tokens = tokenize(stdlib_text(source, root), source.tokenize, source.lowercase)
    vocab = build_vocab(tokens, source)
    index = {t: i for i, t in enumerate(vocab)}
    unk = index["<unk>"]
    ids = np.fromiter((index.get(t, unk) for t in tokens), np.int64, len(tokens))
    return Table(token_windows(ids, source.seq_len, source.stride, "the stdlib corpus"), vocab=vocab)
