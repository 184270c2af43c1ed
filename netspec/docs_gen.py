"""Generated reference pages: one per layer, loss, optimizer, schedule, program and metric, from the
registry and the spec's pydantic models (parameters, types, defaults, descriptions, the shape
contract, an example). Nothing here is typed by hand: a loss's contract and example are its class's,
and metric pages come from the metric registry (netspec.metrics).

    python -m netspec.docs_gen            # rewrite docs/reference/ and docs/guide/data-sources.md
    python -m netspec.docs_gen --check    # exit 1 and list stale pages (tests/test_docs_reference.py)

The data-sources guide page comes from netspec/docs_data.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .docs import layer_doc
from .docs_markdown import GENERATED, cell, value_text
from .docs_markdown import doc_text as _doc
from .docs_markdown import fields_table as _fields_table
from .docs_markdown import tag as _tag
from .docs_markdown import union_members as _members
from .layers import all_layers
from .metrics import METRICS

DOCS = Path(__file__).resolve().parents[1] / "docs" / "reference"


def layer_page(tag: str) -> str:
    d = layer_doc(tag)
    lines = [f"# `{tag}`", "", GENERATED, "", f"Family: {d['family']} · inputs: {d['inputs']}", "",
             f"**Shape contract:** {d['contract']}", ""]
    if d["description"]:
        lines += [d["description"], ""]
    lines += ["## Parameters", ""]
    if d["params"]:
        lines += ["| parameter | type | default | description |", "|---|---|---|---|"]
        for p in d["params"]:
            default = "required" if p["required"] else f"`{value_text(p['default'])}`"
            lines.append(f"| `{p['name']}` | {cell(p['type'])} | {default} | {cell(p['description'])} |")
    else:
        lines.append("No parameters.")
    lines += ["", "## Examples", "", "```yaml", "layers:", *[f"  {ex}" for ex in d["examples"] or [f"- {tag}"]], "```", ""]
    return "\n".join(lines)


def choice_page(kind: str, key: str, cls: type, contract: str = "") -> str:
    tag = _tag(cls)
    lines = [f"# {kind} `{tag}`", "", GENERATED, ""]
    if _doc(cls):
        lines += [_doc(cls), ""]
    if contract:
        lines += [f"**Shape contract:** {contract}", ""]
    example = getattr(cls, "EXAMPLE", "") or f"{{type: {tag}, ...}}"
    lines += ["## Parameters", "", *_fields_table(cls), "", "## Example", "", "```yaml", "train:",
              f"  {key}: {tag}", f"  # or: {key}: {example}", "```", ""]
    return "\n".join(lines)


def metric_page(cls: type) -> str:
    tag, best = _tag(cls), "higher" if cls.HIGHER_IS_BETTER else "lower"
    tasks = ", ".join(sorted(cls.TASKS))
    return "\n".join([f"# metric `{tag}`", "", GENERATED, "", _doc(cls), "",
                      f"Tasks: {tasks}. Computed with torchmetrics, logged per epoch as `val.{tag}` (and `train.{tag}` "
                      f"with `train_metrics: true`); {best} is better when it is monitored with `mode: auto`.", "",
                      "## Parameters", "", *_fields_table(cls), "",
                      "## Example", "", "```yaml", "train:", f"  metrics: [{tag}]", f"  # or: metrics: [{cls.EXAMPLE}]",
                      "```", ""])


def program_page(cls: type) -> str:
    """A training program: its documentation, capabilities, parameters and example, from its registry class."""
    import yaml

    tag = _tag(cls)
    module_doc = (sys.modules[cls.__module__].__doc__ or "").strip()
    able = [f"trains the `{cls.mode}` task"] if cls.mode else []  # type: ignore[attr-defined]
    able.append(f"distributed: {'yes' if cls.distributed else 'no (one process)'}")  # type: ignore[attr-defined]
    if cls.vocab_logits:  # type: ignore[attr-defined]
        able.append("vocabulary logits (`performance.pad_vocab`)")
    prediction = {"embedding": "`netspec predict` writes embeddings", "decision": "`netspec predict` writes the unit's decisions"}
    if cls.prediction in prediction:  # type: ignore[attr-defined]
        able.append(prediction[cls.prediction])  # type: ignore[attr-defined]
    example = yaml.safe_load(cls.EXAMPLE)  # type: ignore[attr-defined]
    lines = [f"# program `{tag}`", "", GENERATED, "", _doc(cls), "", module_doc, "", " · ".join(able), "",
             "## Parameters", "", *_fields_table(cls), "", "## Example", "", "```yaml", "train:",
             "  program: " + yaml.safe_dump(example, default_flow_style=True, sort_keys=False).strip(), "```", ""]
    return "\n".join(lines)


def pages() -> dict[str, str]:
    """Relative path under docs/reference -> page text."""
    from .spec import train as T

    out: dict[str, str] = {}
    index = ["# netspec reference", "", GENERATED, ""]
    layers = all_layers()
    index += ["## Layers", "", "| layer | family | shape contract |", "|---|---|---|"]
    for tag, cls in layers.items():
        out[f"layers/{tag}.md"] = layer_page(tag)
        index.append(f"| [`{tag}`](layers/{tag}.md) | {cls.family} | {cell(cls.contract())} |")
    from .losses import LOSSES

    loss_contracts = {tag: cls.contract for tag, cls in LOSSES.items()}
    for title, kind, folder, key, union, contracts in (("Losses", "loss", "losses", "loss", T.Loss, loss_contracts),
                                                       ("Optimizers", "optimizer", "optimizers", "optimizer", T.Optimizer, {}),
                                                       ("Schedules", "schedule", "schedules", "schedule", T.Schedule, {})):
        index += ["", f"## {title}", ""]
        for cls in _members(union):
            tag = _tag(cls)
            out[f"{folder}/{tag}.md"] = choice_page(kind, key, cls, contracts.get(tag, ""))
            index.append(f"- [`{tag}`]({folder}/{tag}.md): {_doc(cls) or contracts.get(tag, '')}")
    from .programs import PROGRAMS

    index += ["", "## Programs", ""]
    for tag, program in PROGRAMS.items():
        out[f"programs/{tag}.md"] = program_page(program)
        index.append(f"- [`{tag}`](programs/{tag}.md): {_doc(program)}")
    index += ["", "## Metrics", ""]
    for tag, cls in METRICS.items():
        out[f"metrics/{tag}.md"] = metric_page(cls)
        index.append(f"- [`{tag}`](metrics/{tag}.md): {_doc(cls)}")
    out["index.md"] = "\n".join(index) + "\n"
    return out


def stale(root: Path = DOCS) -> list[str]:
    """Pages that differ from the committed ones, are missing, or should not exist."""
    want = pages()
    have = {p.relative_to(root).as_posix() for p in root.rglob("*.md")} if root.is_dir() else set()
    bad = [p for p, text in want.items() if not (root / p).is_file() or (root / p).read_text(encoding="utf-8") != text]
    return sorted(bad + [p for p in have - set(want)])


def write(root: Path = DOCS) -> int:
    for rel, text in pages().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for rel in stale(root):
        (root / rel).unlink()
    return len(pages())


def main(argv: list[str]) -> int:
    from . import docs_data

    if "--check" in argv:
        bad = [f"docs/reference/{rel}" for rel in stale()] + (["docs/guide/data-sources.md"] if docs_data.stale() else [])
        for rel in bad:
            print(f"stale: {rel}", file=sys.stderr)
        return 1 if bad else 0
    print(f"wrote {write()} pages under {DOCS}", file=sys.stderr)
    docs_data.write()
    print(f"wrote {docs_data.PAGE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
