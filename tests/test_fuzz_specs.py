"""Fuzzing the front door: every mutant of every shipped spec ends in a valid spec or in located
diagnostics with exit code 1 — never a traceback, never exit 3 — within bounded time and memory.

The default suite runs a few hundred derandomized cases in-process (the same path as the
command line: ``netspec.cli.app.main``) plus a handful of hostile files in a subprocess under a
memory limit. ``-m fuzz`` runs the long campaign (NETSPEC_FUZZ_CASES, default 10,000, random
seeds); its count and result are recorded in bench/RESULTS.md.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from fuzz_specs import (
    PARSED,
    alias_bomb,
    big_document,
    check_outcome,
    dump,
    extends_chain,
    merge_bomb,
    mutants,
    nested_blocks,
    run_cli_in_process,
    self_merge,
    values,
    write_case,
)
from netspec.source import MAX_VALUES

COMMON = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck), print_blob=True)
SHORT = settings(max_examples=300, derandomize=True, **COMMON)
LONG = settings(max_examples=int(os.environ.get("NETSPEC_FUZZ_CASES", "10000")), derandomize=False, **COMMON)
FORMATS = st.sampled_from(["text", "text", "json", "github"])


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _validate_mutant(tmp_path, case, fmt) -> None:
    _, content = case
    path = write_case(tmp_path / "mutant.yaml", content)
    code, out, err, seconds = run_cli_in_process(["validate", "--format", fmt, str(path)])
    event(f"exit {code}")  # the campaign's statistics show how many mutants stayed valid
    check_outcome(path, fmt, code, out, err, seconds)


@SHORT
@given(case=mutants(), fmt=FORMATS)
def test_mutated_specs_give_valid_or_located_diagnostics(tmp_path_factory, case, fmt):
    _validate_mutant(tmp_path_factory.mktemp("fuzz"), case, fmt)


@st.composite
def overrides(draw):
    """A shipped spec and --set options aimed at its own paths (or nearby ones)."""
    from fuzz_specs import _paths

    name = draw(st.sampled_from(sorted(PARSED)))
    paths = [p for p in _paths(PARSED[name])[1:]]
    sets = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        key = draw(st.sampled_from([key, key + "x", key + "[99]", key + ".extra", "." + key, key.replace(".", "..")]))
        value = draw(st.one_of(st.text(max_size=12), st.just(dump(draw(values)).strip().replace("\n", " "))))
        sets.append(f"{key}={value}")
    return name, sets


def _validate_overrides(case) -> None:
    from conftest import EXAMPLES, SPECS

    name, sets = case
    path = SPECS / name if (SPECS / name).is_file() else EXAMPLES / name
    args = ["validate", str(path)] + [a for s in sets for a in ("--set", s)]
    code, out, err, seconds = run_cli_in_process(args)
    event(f"exit {code}")
    both = out + err
    assert code in (0, 1), both[-2000:]
    assert "Traceback" not in both and "internal error" not in both, both[-2000:]
    assert seconds < 5
    if code == 1:
        assert "<command line>:" in err or f"{path}:" in err, both[-1000:]


@SHORT
@given(case=overrides())
def test_fuzzed_set_overrides_are_validated_like_the_file(case):
    _validate_overrides(case)


@settings(max_examples=25, derandomize=True, **COMMON)
@given(width=st.integers(2, 12), depth=st.integers(2, 12))
def test_alias_bombs_are_refused_quickly(tmp_path_factory, width, depth):
    path = write_case(tmp_path_factory.mktemp("bomb") / "bomb.yaml", alias_bomb(width, depth))
    code, out, err, seconds = run_cli_in_process(["validate", str(path)])
    check_outcome(path, "text", code, out, err, seconds, limit_s=3)
    assert code == 1
    if sum(width ** d for d in range(1, depth + 1)) > MAX_VALUES:
        assert "more than 50,000 values" in err


@settings(max_examples=20, derandomize=True, **COMMON)
@given(width=st.integers(2, 12), depth=st.integers(2, 9))
def test_merge_key_bombs_are_refused_quickly(tmp_path_factory, width, depth):
    """Merged pairs count against the value budget: 9-fold merges 8 deep (43 million pairs from 450
    bytes) kept validate busy for minutes."""
    path = write_case(tmp_path_factory.mktemp("merge") / "bomb.yaml", merge_bomb(width, depth))
    code, out, err, seconds = run_cli_in_process(["validate", str(path)])
    check_outcome(path, "text", code, out, err, seconds, limit_s=5)
    if width ** depth > MAX_VALUES:
        assert "more than 50,000 values" in err


@settings(max_examples=12, derandomize=True, **COMMON)
@given(depth=st.integers(0, 6), fmt=FORMATS)
def test_a_merge_key_referring_back_to_its_mapping_is_located(tmp_path_factory, depth, fmt):
    path = write_case(tmp_path_factory.mktemp("selfmerge") / "loop.yaml", self_merge(depth))
    code, out, err, seconds = run_cli_in_process(["validate", "--format", fmt, str(path)])
    check_outcome(path, fmt, code, out, err, seconds)
    # depth 0 is caught as the merge is made; deeper, the alias is met while its mapping is still open
    assert code == 1 and ("refers back to the mapping it is in" in out + err or "recursive YAML alias" in out + err)


@settings(max_examples=12, derandomize=True, **COMMON)
@given(depth=st.integers(1, 400))
def test_blocks_nested_hundreds_deep_are_located(tmp_path_factory, depth):
    path = write_case(tmp_path_factory.mktemp("blocks") / "deep.yaml", nested_blocks(depth))
    code, out, err, seconds = run_cli_in_process(["validate", str(path)])
    check_outcome(path, "text", code, out, err, seconds, limit_s=10)
    assert (code == 0) == (depth <= 32), err[-500:]
    if code:
        assert "blocks nested 33 deep" in err


@settings(max_examples=40, derandomize=True, **COMMON)
@given(length=st.integers(1, 300), circular=st.booleans(), links=st.booleans(), loop=st.booleans(), fmt=FORMATS)
def test_extends_chains_long_circular_and_through_symlinks(tmp_path_factory, length, circular, links, loop, fmt):
    entry = extends_chain(tmp_path_factory.mktemp("chain"), length, circular, links, loop)
    code, out, err, seconds = run_cli_in_process(["validate", "--format", fmt, str(entry)])
    check_outcome(entry, fmt, code, out, err, seconds, limit_s=10)
    fine = length < 32 and not circular and not (links and loop)
    assert (code == 0) == fine, (out + err)[-800:]


@pytest.mark.parametrize("what", ["dev_zero", "link_to_dev_zero", "fifo", "folder"])
@pytest.mark.parametrize("command", ["validate", "summary"])
def test_only_regular_files_are_read_as_specs(tmp_path, what, command):
    """/dev/zero (or a committed symlink to it) ended in MemoryError and a FIFO hung: only regular files
    are read, and the size limit holds while reading."""
    path = {"dev_zero": Path("/dev/zero"), "link_to_dev_zero": tmp_path / "spec.yaml", "fifo": tmp_path / "spec.yaml",
            "folder": tmp_path / "spec.yaml"}[what]
    if what == "link_to_dev_zero":
        path.symlink_to("/dev/zero")
    elif what == "fifo":
        os.mkfifo(path)
    elif what == "folder":
        path.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "NETSPEC_DEBUG"}
    proc = subprocess.run([sys.executable, "-m", "netspec", command, str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    both = proc.stdout + proc.stderr
    assert proc.returncode in (1, 2), (proc.returncode, both[-1000:])
    assert "Traceback" not in both and "internal error" not in both
    assert f"{path}" in both


@pytest.mark.parametrize("megabytes,kind", [(3, "list"), (15, "string"), (8, "keys"), (12, "comment"), (17, "string")])
def test_multi_megabyte_files_end_in_bounded_time(tmp_path, megabytes, kind):
    path = write_case(tmp_path / "big.yaml", big_document(megabytes, kind))
    before = _peak_rss_mb()
    code, out, err, seconds = run_cli_in_process(["validate", str(path)])
    check_outcome(path, "text", code, out, err, seconds, limit_s=10)
    assert code == (0 if kind == "comment" else 1)  # a valid spec with a long comment is still valid
    if megabytes > 16:
        assert "specs are limited to 16 MiB" in err
    assert _peak_rss_mb() - before < 1500  # a few copies of the text at most


HOSTILE = {
    "deep_flow": "netspec: 1\ninputs: " + "[" * 100_000 + "]" * 100_000 + "\n",  # crashed libyaml's composer
    "deep_block": "netspec: 1\n" + "".join(" " * i + "a:\n" for i in range(2000)),
    "bomb": alias_bomb(10, 9),
    "random_bytes": bytes(range(256)) * 64,
    "huge_ints": "netspec: 1\ninputs: {x: {shape: [0x" + "f" * 50_000 + "]}}\n",
    "nul": "netspec: 1\nname: a\x00b\n",
    "latin1": "netspec: 1\nname: caf\xe9\n".encode("latin-1"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_in_a_subprocess_under_a_memory_limit(tmp_path, name):
    """The real process (no test harness around it), with 2 GiB of address space at most."""
    path = write_case(tmp_path / f"{name}.yaml", HOSTILE[name])

    def limit():  # pragma: no cover - runs in the child
        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))

    env = {k: v for k, v in os.environ.items() if k != "NETSPEC_DEBUG"}
    proc = subprocess.run([sys.executable, "-m", "netspec", "validate", str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, preexec_fn=limit)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert proc.stderr.startswith(f"{path}:") or f"\n{path}:" in proc.stderr or f"FAIL {path}" in proc.stdout
    assert f"{path}:" in proc.stderr, proc.stderr[-1000:]


@pytest.mark.fuzz
@LONG
@given(case=mutants(), fmt=FORMATS)
def test_long_fuzz_campaign(tmp_path_factory, case, fmt):
    _validate_mutant(tmp_path_factory.mktemp("fuzz"), case, fmt)


@pytest.mark.fuzz
@LONG
@given(case=overrides())
def test_long_fuzz_campaign_set_overrides(case):
    _validate_overrides(case)


STRUCTURAL = settings(max_examples=int(os.environ.get("NETSPEC_FUZZ_STRUCTURAL_CASES", "600")), derandomize=False,
                      **COMMON)


@pytest.mark.fuzz
@STRUCTURAL
@given(data=st.data(), fmt=FORMATS)
def test_long_structural_campaign(tmp_path_factory, data, fmt):
    """The issue-21 mutation classes at random sizes: merge bombs, merges referring back to their
    mapping, blocks nested deep, extends chains (long, circular, through symlinks and symlink loops)."""
    kind = data.draw(st.sampled_from(["merge_bomb", "self_merge", "nested_blocks", "extends_chain"]), label="kind")
    root = tmp_path_factory.mktemp("structural")
    event(kind)
    if kind == "extends_chain":
        path = extends_chain(root, data.draw(st.integers(1, 300)), data.draw(st.booleans()), data.draw(st.booleans()),
                             data.draw(st.booleans()))
    else:
        text = {"merge_bomb": lambda: merge_bomb(data.draw(st.integers(2, 12)), data.draw(st.integers(1, 9))),
                "self_merge": lambda: self_merge(data.draw(st.integers(0, 8))),
                "nested_blocks": lambda: nested_blocks(data.draw(st.integers(1, 500)))}[kind]()
        path = write_case(root / f"{kind}.yaml", text)
    code, out, err, seconds = run_cli_in_process(["validate", "--format", fmt, str(path)])
    event(f"exit {code}")
    check_outcome(path, fmt, code, out, err, seconds, limit_s=10)
