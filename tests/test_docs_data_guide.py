"""The data chapter's YAML snippets (docs/guide/10-data.md) are valid `data:` sections: each one,
put into the digits CNN example in place of its data section (keeping the example's source where a
snippet shows only other keys), passes `netspec validate` (which checks the data section without
reading the data, so the folders the snippets name need not exist)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_cli

GUIDE = ROOT / "docs" / "guide" / "10-data.md"
BASE = ROOT / "examples" / "digits_cnn.yaml"


def snippets() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)


def as_data(snippet: str) -> dict:
    text = snippet if snippet.startswith("data:") else "data:\n" + snippet
    return yaml.safe_load(text)["data"]


def test_the_chapter_has_snippets():
    assert len(snippets()) >= 3


@pytest.mark.parametrize("index", range(len(snippets())))
def test_each_snippet_is_a_valid_data_section(index, tmp_path: Path):
    spec = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    data = as_data(snippets()[index])
    spec["data"] = {"source": spec["data"]["source"], **data}
    if spec["data"]["source"]["type"] in ("image_folder", "shards"):  # the example's input: the snippet's images
        size = spec["data"]["source"].get("size", [8, 8])
        spec["inputs"] = {"image": {"shape": [spec["data"]["source"].get("channels", 3), *size]}}
    file = tmp_path / "spec.yaml"
    file.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    proc = run_cli("validate", str(file))
    assert proc.returncode == 0, proc.stdout + proc.stderr
