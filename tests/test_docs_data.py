"""docs/guide/data-sources.md is generated from the data.source union (python -m netspec.docs_gen)
and kept current: every source with every key (type, default, description), the fields it yields,
and an example that is a valid `data:` section of that source."""

from __future__ import annotations

import re

from conftest import ROOT
from netspec.docs_data import PAGE, example_section, page, sources, stale
from netspec.docs_gen import _tag
from netspec.source import load_text
from netspec.spec.data import DataSpec


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## `(\w+)`$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_the_page_is_current():
    assert not stale(), "docs/guide/data-sources.md is stale: run `python -m netspec.docs_gen`"


def test_every_source_and_every_key_is_on_the_page():
    text = PAGE.read_text(encoding="utf-8")
    found = sections(text)
    assert list(found) == [_tag(c) for c in sources()]
    assert {"sklearn", "csv", "parquet", "arrays", "image_folder", "text", "jsonl", "generated", "stdlib_text",
            "sequence_task", "shapes"} <= set(found)
    for cls in sources():
        body = found[_tag(cls)]
        assert f"[`{_tag(cls)}`](#{_tag(cls)})" in text and f"**Fields:** {cls.FIELDS}." in body
        for name, field in cls.model_fields.items():
            if name == "type":
                continue
            row = next((r for r in body.splitlines() if r.startswith(f"| `{name}` |")), None)
            assert row is not None, f"{_tag(cls)}.{name} is not on the page"
            assert field.description and row.endswith(f"| {field.description.replace('|', chr(92) + '|')} |"), row
    assert "| `seq_len` | int > 0 | `64` |" in found["text"]  # type and default come from the schema
    assert "| `name` | digits \\| iris \\| wine \\| breast_cancer \\| diabetes | required |" in found["sklearn"]


def test_every_example_is_a_valid_data_section_of_its_source():
    found = sections(PAGE.read_text(encoding="utf-8"))
    for tag, body in found.items():
        [snippet] = re.findall(r"```yaml\n(.*?)```", body, re.S)
        data, _ = load_text(snippet, f"data-sources.md#{tag}")
        assert list(data) == ["data"]
        spec = DataSpec.model_validate(data["data"])
        assert spec.source.type == tag
    for cls in sources():
        assert load_text(example_section(cls))[0]["data"]["source"]["type"] == _tag(cls)


def test_a_stale_page_is_reported(tmp_path):
    from netspec.docs_data import write

    copy = tmp_path / "data-sources.md"
    write(copy)
    assert not stale(copy) and copy.read_text(encoding="utf-8") == page()
    copy.write_text(page().replace("A CSV file", "A CSV"), encoding="utf-8")
    assert stale(copy) and stale(tmp_path / "missing.md")


def test_the_page_is_linked_where_users_look():
    assert "docs/guide/data-sources.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(data-sources.md)" in (ROOT / "docs" / "guide" / "README.md").read_text(encoding="utf-8")
