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


def error_of(text):
    with pytest.raises(SpecError) as info:
        load(text)
    loc = info.value.location
    return (loc.line, loc.col), info.value.message.removeprefix("invalid YAML: "), info.value.hint


@pytest.mark.parametrize("text, where", [
    ("model:\n  layers:\n\t- relu\n", (3, 1)),                     # a tab before the item
    ("inputs:\n\tx: {shape: [4]}\n", (2, 1)),                        # a tab before a key
    ("model:\n  layers:\n    - linear:\n        a: 1\n\tb: 2\n", (5, 1)),
    ("model:\n  layers:\n  \t- relu\n", (3, 3)),                    # spaces, then a tab
    ("model:\n  layers:\n    -\trelu\n    -\trelu\n", (3, 6)),        # a tab after the dash
])
def test_a_tab_in_the_indentation_is_named_where_it_is(text, where):
    at, message, hint = error_of(text)
    assert (at, message) == (where, "tabs are not allowed in YAML indentation; use spaces") and "spaces" in hint


def test_tabs_that_yaml_allows_stay_allowed():
    data, _ = load("description: |\n  one\n  \ttwo\nname:\tx\nshape: [1,\n\t2]\n")
    assert data == {"description": "one\n\ttwo\n", "name": "x", "shape": [1, 2]}


@pytest.mark.parametrize("text, where, message", [
    ("model:\n  layers:\n    - relu\n   outputs: [x]\n", (4, 4),
     "key 'outputs' is indented by 3 spaces, but the keys above it are indented by 2 ('layers', line 2) or 0 ('model', line 1)"),
    ("model:\n    layers:\n      - relu\n  outputs: [x]\n", (4, 3),
     "key 'outputs' is indented by 2 spaces, but the keys above it are indented by 4 ('layers', line 2) or 0 ('model', line 1)"),
    ("a:\n  b: 1\n   c: 2\n", (3, 4),
     "key 'c' is indented by 3 spaces, but the keys above it are indented by 2 ('b', line 2) or 0 ('a', line 1)"),
    ("model:\n  layers:\n  - relu\n outputs: [x]\n", (4, 2),   # a list at its key's column: `layers` still counts
     "key 'outputs' is indented by 1 space, but the keys above it are indented by 2 ('layers', line 2) or 0 ('model', line 1)"),
    ("model:\n  layers:\n    - relu\n   - relu\n", (4, 4), "the list item is indented by 3 spaces, but the lines above it "
     "are indented by 4 (the list item on line 3), 2 ('layers', line 2) or 0 ('model', line 1)"),
])
def test_a_misaligned_key_or_item_is_named_with_the_columns_it_could_take(text, where, message):
    at, got, hint = error_of(text)
    assert (at, got) == (where, f"bad indentation: {message}") and "line up exactly" in hint


@pytest.mark.parametrize("text, message", [
    ("name: a: b\n", "mapping values are not allowed in this context"),          # aligned: not an indentation problem
    ("model:\n  layers:\n      - a: b: c\n", "mapping values are not allowed in this context"),  # a block's first line nests freely
    ("model: {layers: [1, 2}\n", "did not find expected ',' or ']'"),
])
def test_other_syntax_errors_keep_the_parsers_words(text, message):
    _, got, hint = error_of(text)
    assert got == message and hint is None


def test_plain_value_is_what_the_text_would_be_unquoted():
    from netspec.source import plain_value

    assert [plain_value(t) for t in ("128", "1e-3", "0x10", "true", "~", "yes", "abc", "9" * 30)] == \
        [128, 0.001, 16, True, None, "yes", "abc", "9" * 30]
