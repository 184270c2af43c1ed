"""The generated guide page of data sources (docs/guide/data-sources.md): every source of the
``SOURCES`` registry (``netspec.sources``) with its keys (type, default, description from the schema), the fields it
yields and an example ``data:`` section, from the source classes themselves (their docstrings,
``FIELDS`` and ``EXAMPLE``). ``python -m netspec.docs_gen`` writes it with the reference pages
and ``--check`` fails when it is stale (tests/test_docs_data.py).
"""

from __future__ import annotations

from pathlib import Path

from .docs_markdown import GENERATED, cell, doc_text, fields_table, tag

PAGE = Path(__file__).resolve().parents[1] / "docs" / "guide" / "data-sources.md"


def sources() -> list[type]:
    """The source classes, in registration order (the ``SOURCES`` registry)."""
    from .sources import SOURCES

    return list(SOURCES)


def example_section(cls: type) -> str:
    """The YAML ``data:`` section of a source's example."""
    return f"data:\n  source: {cls.EXAMPLE}\n"


def page() -> str:
    classes = sources()
    lines = ["# Data sources", "", GENERATED, "",
             "`data.source` says where the samples come from. Each source yields named *fields* (one row per "
             "sample); `data.inputs` binds model inputs to fields (by default the only model input takes the "
             "only field that is not a target) and a loss's `target` names its field (default `target`). "
             "Paths are relative to the spec file. Splits, preprocessing, augmentation and loading are the "
             "other keys of `data:` (see `netspec schema`).", "",
             "| source | what | fields |", "|---|---|---|"]
    lines += [f"| [`{tag(c)}`](#{tag(c)}) | {cell(doc_text(c))} | {cell(c.FIELDS)} |" for c in classes]
    for cls in classes:
        name = tag(cls)
        lines += ["", f"## `{name}`", "", doc_text(cls), "",
                  f"**Fields:** {cls.FIELDS}.", "", "**Keys:**", "", *fields_table(cls), "",
                  "**Example:**", "", "```yaml", example_section(cls).rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def stale(path: Path = PAGE) -> bool:
    return not path.is_file() or path.read_text(encoding="utf-8") != page()


def write(path: Path = PAGE) -> None:
    path.write_text(page(), encoding="utf-8")
