"""Hypothesis strategies that mutate the shipped specs, and the in-process runner that puts each
mutant through `netspec validate` exactly as the command line does (``netspec.cli.app.main``).

Mutations (each case applies one to three of them):

* on the data: keys deleted, renamed or replaced by another key of the same mapping (a
  duplicate, once rendered by the text mutations below); values replaced by wrong types, huge,
  negative, NaN/Inf numbers, empty or odd unicode strings, subtrees from other specs; numbers
  perturbed; lists truncated or nested deeper (beyond the loader's depth limit too);
* on the text: random bytes inserted, ranges deleted, lines duplicated (duplicate keys), the
  file truncated, indentation broken;
* whole documents: YAML alias bombs and merge-key bombs of random shape, merge keys that refer
  back to their own mapping, blocks nested hundreds deep, multi-megabyte files;
* several files (``structural``): ``extends`` chains of random length, circular ones, and chains
  through symlinks, including symlink loops.

``run_cli_in_process(args)`` returns (exit code, stdout, stderr, CPU seconds); ``check_outcome``
asserts the contract: exit 0 (valid) or 1 with located diagnostics, never a traceback or exit 3,
within a CPU-time bound (CPU time, not wall time: the machine running the tests may be shared).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import re
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st

from conftest import EXAMPLES, SPECS
from netspec.cli.app import main
from netspec.source import load_text

SPEC_FILES = sorted(SPECS.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yaml"))
PARSED = {f.name: load_text(f.read_text(encoding="utf-8"), str(f))[0] for f in SPEC_FILES}
TEXTS = {f.name: f.read_text(encoding="utf-8") for f in SPEC_FILES}

ODD_STRINGS = ["", " ", "\u202e", "漢字", "e\u0301", "\U0001f600", "${x}", "${", "$", "relu", "model", "input",
               "inputs", "logits", "null", "~", "a.b", "../x", "/etc/passwd", "0x10", "1e-3", "yes", "-",
               "*", "&a", "!!python/name:os.system", "x" * 300, "\t", "NaN", "inf", "type", "layers"]
ODD_NUMBERS = [0, -1, 1, 2, 3, 7, 64, 2**31, 2**63 - 1, -(2**63), 10**12, 0.5, -0.5, 1e-300, 1e308, -1e308]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from(ODD_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.text(max_size=20),
    st.sampled_from(ODD_STRINGS),
)
keys = st.one_of(st.sampled_from(["name", "type", "inputs", "shape", "layers", "linear", "conv2d", "out_features",
                                  "model", "train", "data", "source", "loss", "p", "x", "outputs"]),
                 st.text(min_size=1, max_size=10))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=10)


# ---- data mutations ---------------------------------------------------------------------------

def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, prefix + (i,))
    return out


def _at(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


def mutate_data(draw, data: Any) -> Any:
    """One random structural mutation of ``data`` (in place where possible); returns the result."""
    paths = _paths(data)[1:]
    if not paths:
        return draw(values)
    path = draw(st.sampled_from(paths))
    parent, key = _at(data, path[:-1]), path[-1]
    old = parent[key]
    op = draw(st.sampled_from(["delete", "rename", "replace", "number", "truncate", "nest", "graft", "retype"]))
    if op == "delete":
        del parent[key]
    elif op == "rename" and isinstance(parent, dict):
        new = draw(st.one_of(keys, st.just(f"{key}s"), st.just(str(key).upper()), st.just(f"{key}_")))
        if new not in parent:
            parent[new] = parent.pop(key)
    elif op == "number" and isinstance(old, (int, float)) and not isinstance(old, bool):
        parent[key] = draw(st.sampled_from([-old, old * 10**9, old + 0.5, 0, -1, old * 1e300, float("nan"), 10**19]))
    elif op == "truncate" and isinstance(old, list) and old:
        parent[key] = old[: draw(st.integers(0, len(old) - 1))]
    elif op == "nest":
        parent[key] = _nest(old, draw(st.one_of(st.integers(1, 4), st.integers(60, 80))))
    elif op == "graft":
        other = PARSED[draw(st.sampled_from(sorted(PARSED)))]
        parent[key] = copy.deepcopy(_at(other, draw(st.sampled_from(_paths(other)))))
    elif op == "retype":
        parent[key] = str(old) if not isinstance(old, str) else [old]
    else:
        parent[key] = draw(values)
    return data


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


# ---- text mutations ---------------------------------------------------------------------------

def mutate_text(draw, text: str) -> str | bytes:
    op = draw(st.sampled_from(["bytes", "delete", "duplicate_line", "truncate", "indent", "swap_lines"]))
    n = len(text)
    at = draw(st.integers(0, n))
    lines = text.splitlines(keepends=True)
    if op == "bytes":
        raw = text.encode("utf-8")
        cut = min(at, len(raw))
        return raw[:cut] + draw(st.binary(min_size=1, max_size=16)) + raw[cut:]
    if op == "delete":
        return text[:at] + text[at + draw(st.integers(1, 40)):]
    if op == "truncate":
        return text[:at]
    if not lines:
        return text
    i = draw(st.integers(0, len(lines) - 1))
    if op == "duplicate_line":  # a repeated `key:` line is a duplicate key
        return "".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])
    if op == "indent":
        return "".join(lines[:i] + [draw(st.sampled_from([" ", "  ", "\t", ""])) + lines[i].lstrip()] + lines[i + 1:])
    j = draw(st.integers(0, len(lines) - 1))
    lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines)


# ---- whole documents --------------------------------------------------------------------------

def alias_bomb(width: int, depth: int) -> str:
    """The "billion laughs": each level lists the previous one ``width`` times."""
    out = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for d in range(1, depth):
        out.append(f"l{d}: &l{d} [{', '.join([f'*l{d - 1}'] * width)}]")
    return "netspec: 1\n" + "\n".join(out) + "\n"


def merge_bomb(width: int, depth: int) -> str:
    """Merge keys of merge keys: each level merges the previous one ``width`` times (width**depth pairs)."""
    out = ["l0: &l0 {k: 1}"]
    for d in range(1, depth + 1):
        out.append(f"l{d}: &l{d} {{<<: [{', '.join([f'*l{d - 1}'] * width)}]}}")
    return "netspec: 1\nname: bomb\n" + "\n".join(out) + "\n"


def self_merge(depth: int) -> str:
    """A merge source that merges the mapping it is in (directly, or ``depth`` mappings further in)."""
    inner = "<<: *top"
    for d in range(depth):
        inner = f"m{d}:\n" + "\n".join("  " + line for line in inner.splitlines())
    body = "\n".join("  " + line for line in inner.splitlines())
    return f"netspec: 1\nname: loop\ntop: &top\n  k: 1\n{body}\n"


def nested_blocks(depth: int) -> str:
    """A valid-looking spec whose blocks use each other ``depth`` deep."""
    out = ["netspec: 1", "name: deep", "inputs:", "  x: {shape: [4]}", "blocks:",
           "  b0:", "    layers:", "      - {linear: {out_features: 4}}"]
    for i in range(1, depth):
        out += [f"  b{i}:", "    layers:", f"      - b{i - 1}"]
    out += ["model:", "  layers:", f"    - b{depth - 1}"]
    return "\n".join(out) + "\n"


def extends_chain(folder: Path, length: int, circular: bool, links: bool, loop: bool) -> Path:
    """``length`` specs each extending the next (the last a real spec, or, ``circular``, the first);
    with ``links`` every base is named through a symlink, and ``loop`` makes the last link a loop."""
    folder.mkdir(parents=True, exist_ok=True)
    name = (lambda i: f"link{i}.yaml") if links else (lambda i: f"s{i}.yaml")
    for i in range(length):
        last = i == length - 1
        text = (f"extends: {name(0) if circular else 'base.yaml'}\n" if last else f"extends: {name(i + 1)}\n")
        (folder / f"s{i}.yaml").write_text(text, encoding="utf-8")
        if links:
            (folder / name(i)).symlink_to(f"s{i}.yaml")
    (folder / "base.yaml").write_text(TEXTS["mlp.yaml"], encoding="utf-8")
    if links and loop:
        (folder / "base.yaml").unlink()
        (folder / "base.yaml").symlink_to("base2.yaml")
        (folder / "base2.yaml").symlink_to("base.yaml")
    return folder / "s0.yaml"


def big_document(megabytes: float, kind: str) -> str:
    """A multi-megabyte spec-like file: a huge list, a huge string, many keys, or a long description."""
    size = int(megabytes * 2**20)
    if kind == "list":
        return "netspec: 1\ndims: [" + "1, " * (size // 3) + "1]\n"
    if kind == "string":
        return "netspec: 1\ndescription: " + "a" * size + "\n"
    if kind == "keys":
        return "netspec: 1\n" + "".join(f"k{i}: {i}\n" for i in range(size // 12))
    return TEXTS["mlp.yaml"] + "# " + "x" * size + "\n"


@st.composite
def mutants(draw) -> tuple[str, str | bytes]:
    """(source spec name, mutated text or bytes)."""
    name = draw(st.sampled_from(sorted(PARSED)))
    kind = draw(st.sampled_from(["data", "data", "data", "text", "both"]))
    if kind == "text":
        return name, mutate_text(draw, TEXTS[name])
    data = copy.deepcopy(PARSED[name])
    for _ in range(draw(st.integers(1, 3))):
        data = mutate_data(draw, data)
    text = dump(data)
    return name, mutate_text(draw, text) if kind == "both" else text


# ---- running and judging ----------------------------------------------------------------------

def run_cli_in_process(args: list[str]) -> tuple[int, str, str, float]:
    """`netspec ARGS` through the real entry point (``main``), in this process."""
    out, err = io.StringIO(), io.StringIO()
    start = time.process_time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, out.getvalue(), err.getvalue(), time.process_time() - start


def write_case(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    return path


def check_outcome(path: Path, fmt: str, code: int, out: str, err: str, seconds: float, limit_s: float = 5.0) -> None:
    """The front door's contract for one case."""
    both = out + err
    assert code in (0, 1), f"exit {code} for {path}:\n{both[-2000:]}"
    assert "Traceback" not in both and "internal error" not in both, both[-2000:]
    assert seconds < limit_s, f"validate took {seconds:.1f} s of CPU time"
    if fmt == "json":
        report = json.loads(out)
        assert report["valid"] is (code == 0)
        diags = report["specs"][0]["diagnostics"]
        if code == 1:
            assert diags and all(d["line"] >= 1 and d["col"] >= 1 and d["message"] for d in diags)
        return
    if code == 0:
        assert out.startswith(f"ok   {path}: "), both[-500:]
        return
    # located: in the mutant, or in a shipped block library it uses (then a note points back here)
    located = re.compile(r"^\S[^\n]*:\d+:\d+: \S", re.M)
    if fmt == "github":
        assert re.search(r"^::error file=[^\n]+,line=\d+,col=\d+::", out, re.M), both[-500:]
    else:
        assert located.search(err), both[-1000:]


# ---- shared by the command fuzzers (tests/test_cli_arguments.py, tests/test_fuzz_predict.py) ---------

#: a spec that trains in a second: digits, one small hidden layer, one epoch
TINY_DIGITS = """\
netspec: 1
name: tiny-digits
inputs:
  features: {shape: [64]}
model:
  layers:
    - {name: hidden, linear: {out_features: 16, activation: relu}}
    - {name: logits, linear: {out_features: 10}}
data:
  source: {type: sklearn, name: digits}
  split: {val: 0.2, seed: 0}
  preprocess: {features: standardize}
train:
  task: classification
  epochs: 1
  batch_size: 256
  optimizer: {type: adam, lr: 1.0e-2}
  seed: 0
"""

#: Hypothesis settings of the command fuzzers: a case is a draw from finite lists, so shrinking has
#: nothing to find, and re-running a slow case is costly
COMMAND_FUZZ = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck), print_blob=True,
                    phases=[Phase.explicit, Phase.generate])


def hang_watchdog(case: str, after_s: float):
    """A started timer that, unless cancelled, prints ``case`` and every thread's stack and ends the process."""
    import faulthandler
    import os
    import sys
    import threading

    def fire() -> None:
        print(f"\nHANG: {case} still running {after_s:.0f} s after it started; stacks follow", file=sys.__stderr__,
              flush=True)
        faulthandler.dump_traceback(file=sys.__stderr__, all_threads=True)
        os._exit(70)

    timer = threading.Timer(after_s, fire)
    timer.daemon = True
    timer.start()
    return timer


def run_bounded(args: list[str], limit_s: int = 60, cwd: Path | None = None) -> tuple[int, str, str, float]:
    """``run_cli_in_process`` under an alarm (a hang fails the case), optionally in folder ``cwd``.

    The alarm raises in the main thread; code that waits on other threads (a thread pool's shutdown)
    can outlast it, so a watchdog thread dumps every thread's stack and ends the process when the
    case is still running 30 s after its alarm: a hang is then a failed run, never a stalled one.
    """
    import os
    import signal

    import pytest

    shown = " ".join(a if len(a) < 60 else a[:57] + "..." for a in args)
    previous = signal.signal(signal.SIGALRM, lambda *_: pytest.fail(f"netspec {shown}: no answer in {limit_s} s (a hang)"))
    signal.alarm(limit_s)
    watchdog = hang_watchdog(f"netspec {shown}", limit_s + 30)
    here = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return run_cli_in_process(args)
    finally:
        watchdog.cancel()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(here)


def count_outcome(code: int) -> None:
    """Count an exit code in --hypothesis-show-statistics (only inside a Hypothesis test)."""
    from hypothesis import event
    from hypothesis.control import currently_in_test_context

    if currently_in_test_context():
        event(f"exit {code}")
