"""YAML loading: safe, strict, located."""

from __future__ import annotations

import math

import pytest

from netspec.errors import SpecError
from netspec.source import MAX_VALUES, load_text


def load(text):
    return load_text(text, "s.yaml")


def test_scalars_follow_yaml_1_2():
    data, _ = load("a: 1e-3\nb: 3.0e-4\nc: 1E5\nd: yes\ne: off\nf: 010\ng: 0x1f\nh: .inf\ni: -.5\nj: true\nk: ~\nl: 1_000")
    assert data == {"a": 0.001, "b": 0.0003, "c": 100000.0, "d": "yes", "e": "off", "f": 10, "g": 31,
                    "h": math.inf, "i": -0.5, "j": True, "k": None, "l": 1000}
    assert isinstance(data["c"], float) and isinstance(data["f"], int)


def test_locations_of_keys_and_values():
    data, smap = load("model:\n  layers:\n    - linear: {out_features: 10}\n")
    assert str(smap.locate(("model", "layers", 0, "linear", "out_features"))) == "s.yaml:3:30"
    assert str(smap.locate(("model", "layers", 0, "linear", "out_features"), at_key=True)) == "s.yaml:3:16"
    # a path that does not exist falls back to its nearest parent
    assert str(smap.locate(("model", "layers", 0, "linear", "bias"))) == "s.yaml:3:15"


def test_duplicate_keys_are_errors_at_the_second_key():
    with pytest.raises(SpecError) as info:
        load("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert "duplicate key 'c' (first defined at line 3)" in info.value.message
    assert (info.value.location.line, info.value.location.col) == (4, 3)


@pytest.mark.parametrize("payload", [
    "!!python/object/apply:os.system ['echo pwned']",
    "a: !!python/name:os.system",
    "a: !!python/object/new:subprocess.Popen [['true']]",
    "a: !custom 1",
    "a: !!binary aGk=",
    "a: !!set {x, y}",
])
def test_tags_are_refused(payload):
    with pytest.raises(SpecError, match="tag"):
        load(payload)


def test_merge_keys_and_anchors():
    data, smap = load("base: &b {p: 1, q: 2}\nx: {<<: *b, q: 3}\n")
    assert data["x"] == {"p": 1, "q": 3}
    assert smap.locate(("x", "q")).line == 2


def test_alias_bomb_is_bounded():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
        prev = name
    with pytest.raises(SpecError, match=f"more than {MAX_VALUES:,} values"):
        load("\n".join(lines))


def test_recursive_alias_is_an_error():
    with pytest.raises(SpecError, match="recursive"):
        load("a: &a [1, *a]")


def test_syntax_error_is_located():
    with pytest.raises(SpecError) as info:
        load("a: [1, 2\nb: 3\n")
    assert info.value.location.file == "s.yaml"
    assert info.value.location.line >= 1
    assert info.value.message.startswith("invalid YAML")


def test_non_scalar_keys_are_refused():
    with pytest.raises(SpecError, match="keys"):
        load("? [a, b]\n: 1\n")
