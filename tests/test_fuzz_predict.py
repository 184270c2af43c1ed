"""Property-based: every input format `netspec predict` and `netspec evaluate`'s checkpoint accept,
mutated as a clumsy or hostile user would (shapes, dtypes, encodings, truncation, corruption,
columns dropped, renamed, added or reordered, a checkpoint of another model).

Each case ends in exit 0 or exit 1/2 with a message naming the input file (`FILE:LINE:COL: ...`)
and no traceback, within bounded time. A mutation that keeps every value the model needs (columns
reordered or added, CRLF line ends, a byte-order mark) must give exactly the unmutated predictions:
columns are matched by name, never by position.

The default suite runs a short derandomized sample; ``-m fuzz`` runs the long campaign
(NETSPEC_PREDICT_FUZZ_CASES, default 2,000).
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz_specs import COMMAND_FUZZ, TINY_DIGITS, count_outcome, run_bounded, run_cli_in_process

SPEC = TINY_DIGITS

COMMON = COMMAND_FUZZ
FORMATS = ["csv", "jsonl", "parquet", "npy", "npz"]
KEEPS_VALUES = {"permute columns", "extra column", "crlf", "bom"}
MUTATIONS = sorted(KEEPS_VALUES | {"drop column", "rename column", "header only", "empty", "truncate", "flip bytes",
                                   "nan cell", "text cell", "huge cell", "not utf-8", "63 features", "65 features",
                                   "3-d", "object dtype", "strings", "zero rows", "one value"})


class World:
    def __init__(self, root: Path) -> None:
        from sklearn.datasets import load_digits

        self.root = root
        self._n = 0
        self.spec = root / "spec.yaml"
        self.spec.write_text(SPEC, encoding="utf-8")
        self.run = root / "run"
        code, _, err, _ = run_cli_in_process(["train", str(self.spec), "--out", str(self.run), "--quiet"])
        assert code == 0, err[-2000:]
        self.other = root / "other"  # a run of another model (another hidden width)
        other_spec = root / "other.yaml"
        other_spec.write_text(SPEC.replace("out_features: 16", "out_features: 24"), encoding="utf-8")
        code, _, err, _ = run_cli_in_process(["train", str(other_spec), "--out", str(self.other), "--quiet"])
        assert code == 0, err[-2000:]
        digits = load_digits()
        self.names = [f"pixel_{i // 8}_{i % 8}" for i in range(64)]
        self.x = digits.data[:12].astype(np.float32)
        self.reference = self.predict(self.write("ref.npz", _npz(self.x)))[1]
        assert self.reference is not None

    def write(self, name: str, content: bytes) -> Path:
        path = self.root / name
        path.write_bytes(content)
        return path

    def fresh(self, suffix: str) -> Path:
        self._n += 1
        return self.root / f"case{self._n}{suffix}"

    def predict(self, path: Path, checkpoint: Path | None = None) -> tuple[tuple[int, str, str, float], np.ndarray | None]:
        out = self.fresh(".csv")
        result = _bounded(["predict", str(self.spec), "--checkpoint", str(checkpoint or self.run), "--input", str(path),
                           "--output", str(out)])
        probs = None
        if result[0] == 0:
            rows = list(csv.reader(out.read_text().splitlines()))
            probs = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
        return result, probs


def _bounded(args: list[str]) -> tuple[int, str, str, float]:
    return run_bounded(args)


# ---- writing an input, then mutating it -----------------------------------------------------------

def _csv(names: list[str], rows: list[list]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _jsonl(names: list[str], rows: list[list]) -> bytes:
    return "".join(json.dumps(dict(zip(names, r))) + "\n" for r in rows).encode("utf-8")


def _parquet(names: list[str], rows: list[list]) -> bytes:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    columns = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=array.dtype == object)
    return buf.getvalue()


def _npz(features: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, features=features)
    return buf.getvalue()


def build(world: World, fmt: str, mutation: str, rnd) -> bytes:
    """The input in ``fmt`` with ``mutation`` applied (``rnd``: a random.Random for positions)."""
    names, x = list(world.names), world.x.copy()
    rows: list[list] = x.tolist()
    if fmt in ("npy", "npz"):
        array: np.ndarray = x
        if mutation in ("63 features", "drop column"):
            array = x[:, :63]
        elif mutation in ("65 features", "extra column"):
            array = np.hstack([x, x[:, :1]])
        elif mutation == "3-d":
            array = x.reshape(len(x), 8, 8)
        elif mutation == "object dtype":
            array = np.array([{"a": 1}] * 3, dtype=object)
        elif mutation == "strings":
            array = np.array([["1"] * 64] * 3)
        elif mutation == "zero rows":
            array = x[:0]
        elif mutation == "one value":
            array = np.float32(1.0)  # type: ignore[assignment]
        elif mutation == "nan cell":
            array = x.copy()
            array[rnd.randrange(len(x)), rnd.randrange(64)] = np.nan
        elif mutation == "huge cell":
            array = x.astype(np.float64)
            array[0, 0] = 1e308
        data = _npy(np.asarray(array)) if fmt == "npy" else _npz(np.asarray(array))
        return _bytes_mutation(data, mutation, rnd)
    if mutation == "permute columns":
        order = list(range(64))
        rnd.shuffle(order)
        names, rows = [names[i] for i in order], [[r[i] for i in order] for r in rows]
    elif mutation == "extra column":
        names, rows = names + ["comment"], [r + [1.5] for r in rows]
    elif mutation in ("drop column", "63 features"):
        k = rnd.randrange(64)
        names, rows = names[:k] + names[k + 1:], [r[:k] + r[k + 1:] for r in rows]
    elif mutation == "65 features":
        names, rows = names + ["pixel_8_0"], [r + [0.0] for r in rows]
    elif mutation == "rename column":
        names[rnd.randrange(64)] = "pixel_x"
    elif mutation in ("header only", "zero rows"):
        rows = []
    elif mutation == "nan cell":
        rows[rnd.randrange(len(rows))][rnd.randrange(64)] = "nan" if fmt == "csv" else None
    elif mutation in ("text cell", "strings"):
        rows[rnd.randrange(len(rows))][rnd.randrange(64)] = "seven"
    elif mutation == "huge cell":
        rows[0][0] = "1e309" if fmt == "csv" else 1e308
    writer = {"csv": _csv, "jsonl": _jsonl, "parquet": _parquet}[fmt]
    try:
        data = writer(names, rows)
    except Exception:  # noqa: BLE001 - pyarrow refuses a column of mixed types: write the text form instead
        data = _csv(names, rows)
    return _bytes_mutation(data, mutation, rnd)


def _bytes_mutation(data: bytes, mutation: str, rnd) -> bytes:
    if mutation == "empty":
        return b""
    if mutation == "truncate":
        return data[: rnd.randrange(max(len(data), 1))]
    if mutation == "flip bytes":
        out = bytearray(data)
        for _ in range(rnd.randrange(1, 6)):
            if out:
                out[rnd.randrange(len(out))] = rnd.randrange(256)
        return bytes(out)
    if mutation == "not utf-8":
        return data[: len(data) // 2] + b"\xff\xfe" + data[len(data) // 2:]
    if mutation == "crlf":
        return data.replace(b"\n", b"\r\n")
    if mutation == "bom":
        return b"\xef\xbb\xbf" + data
    return data


def keeps_values(fmt: str, mutation: str) -> bool:
    """The mutation changes the form, not a value the model reads (CRLF and a BOM only in text files:
    in .npy, .npz or Parquet bytes they are corruption, which may still parse as other numbers)."""
    if fmt in ("csv", "jsonl"):
        return mutation in KEEPS_VALUES
    if fmt == "parquet":
        return mutation in ("permute columns", "extra column")
    return mutation == "permute columns"  # arrays have no column names: the mutation leaves them as they are


# ---- the contract ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return World(tmp_path_factory.mktemp("predict"))


def check_case(world: World, fmt: str, mutation: str, seed: int) -> None:
    import random

    data = build(world, fmt, mutation, random.Random(seed))
    path = world.write(f"input-{seed}-{mutation.replace(' ', '_')}.{fmt}", data)
    (code, out, err, seconds), probs = world.predict(path)
    both = out + err
    count_outcome(code)
    assert code in (0, 1, 2), f"{fmt} / {mutation}: exit {code}\n{both[-2000:]}"
    assert "Traceback" not in both and "internal error" not in both, f"{fmt} / {mutation}\n{both[-2000:]}"
    if code:
        assert err.startswith(f"{path}:") or f"\n{path}:" in err or "Error: Invalid value" in err, \
            f"{fmt} / {mutation}: not located at the input\n{err[-1500:]}"
    elif keeps_values(fmt, mutation):
        np.testing.assert_allclose(probs, world.reference, rtol=0, atol=1e-6, err_msg=f"{fmt} / {mutation}")
    assert seconds < 30


@settings(max_examples=40, derandomize=True, **COMMON)
@given(fmt=st.sampled_from(FORMATS), mutation=st.sampled_from(MUTATIONS), seed=st.integers(0, 10**6))
def test_mutated_prediction_inputs_end_in_a_result_or_a_located_error(world, fmt, mutation, seed):
    check_case(world, fmt, mutation, seed)


@pytest.mark.parametrize("mutation", sorted(KEEPS_VALUES))
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_inputs_that_keep_the_values_give_the_same_predictions(world, fmt, mutation):
    if fmt == "parquet" and mutation in ("crlf", "bom"):
        pytest.skip("a byte-level change of a binary file is corruption, not formatting (covered by the fuzzer)")
    check_case(world, fmt, mutation, seed=7)
    path = world.root / f"input-7-{mutation.replace(' ', '_')}.{fmt}"
    assert world.predict(path)[0][0] == 0, world.predict(path)[0][2][-1500:]


@pytest.mark.parametrize("name", ["a_fifo", "zero.png folder", "folder of corrupt pngs"])
def test_special_inputs_are_named(world, name):
    """A FIFO hung predict; a folder of images for a flat model, or of images that do not decode."""
    path = world.root / name
    if name == "a_fifo":
        os.mkfifo(path)
    else:
        (path / "x").mkdir(parents=True)
        (path / "x" / "a.png").write_bytes(b"" if name.startswith("zero") else b"\x89PNG\r\n\x1a\n garbage")
    (code, out, err, _), _ = world.predict(path)
    assert code in (1, 2) and "Traceback" not in err and "internal error" not in err, err[-1500:]
    assert str(path) in err, err[-1500:]


@pytest.mark.parametrize("command", ["predict", "evaluate", "export"])
def test_a_checkpoint_of_another_model_is_located_at_the_checkpoint(world, command):
    args = {"predict": ["--input", str(world.root / "ref.npz"), "--output", str(world.fresh(".csv"))],
            "evaluate": [], "export": ["-o", str(world.fresh(".onnx"))]}[command]
    code, out, err, _ = _bounded([command, str(world.spec), "--checkpoint", str(world.other), *args])
    assert code == 1 and "Traceback" not in err and "internal error" not in err, err[-1500:]
    assert str(world.other) in err.splitlines()[0] or any(line.startswith(str(world.other)) for line in err.splitlines()), \
        err[-1500:]


@pytest.mark.fuzz
@settings(max_examples=int(os.environ.get("NETSPEC_PREDICT_FUZZ_CASES", "2000")), derandomize=False, **COMMON)
@given(fmt=st.sampled_from(FORMATS), mutation=st.sampled_from(MUTATIONS), seed=st.integers(0, 10**6))
def test_long_prediction_input_campaign(world, fmt, mutation, seed):
    check_case(world, fmt, mutation, seed)


@settings(max_examples=15, derandomize=True, **COMMON)
@given(mutation=st.sampled_from(["truncate", "flip bytes", "empty", "not utf-8"]), seed=st.integers(0, 10**6),
       command=st.sampled_from(["evaluate", "predict"]))
def test_a_mutated_checkpoint_is_refused_at_the_checkpoint(world, mutation, seed, command):
    """A checkpoint cut short, with flipped bytes or empty: its checksum (or torch.load) refuses it, at its path."""
    import random

    data = (world.run / "last.pt").read_bytes()
    mutated = _bytes_mutation(data, mutation, random.Random(seed))
    if mutated == data:
        return
    path = world.write(f"ckpt-{seed}.pt", mutated)
    args = ["--input", str(world.root / "ref.npz"), "--output", str(world.fresh(".csv"))] if command == "predict" else []
    code, out, err, _ = _bounded([command, str(world.spec), "--checkpoint", str(path), *args])
    count_outcome(code)
    assert code == 1 and "Traceback" not in err and "internal error" not in err, err[-1500:]
    assert err.startswith(f"{path}:"), err[-1500:]

