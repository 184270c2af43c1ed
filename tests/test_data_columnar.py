"""Columnar files read in record batches (``stream``): the column cache, streaming statistics and lazy
rows must give what reading the file whole gives. References: the in-memory reader and its NumPy
statistics, the same spec trained with ``stream: false``, predictions of the in-memory run."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from netspec.cli.app import app
from netspec.data import columnar, make_loaders, prepare_data, record_batches
from netspec.data.columnar import ColumnarRows, TransformedRows
from netspec.data.lazy import Selected
from netspec.errors import DataError
from netspec.sources import SOURCES

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

PATH = ("data", "source")
N = 1500


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    """Stream every file (threshold 1 byte) in small record batches, so a file spans many of them."""
    monkeypatch.setenv(columnar.STREAM_ENV, "1")
    monkeypatch.setattr(record_batches, "CSV_BLOCK", 8192)
    monkeypatch.setattr(record_batches, "BATCH_ROWS", 256)
    monkeypatch.setattr(columnar, "BATCH_ROWS", 256)


def rows(n: int = N, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _i in range(n):
        a, b = rng.normal(), rng.normal() * 50 + 7
        city = str(rng.choice(["oslo", "rome", "lima", "kyiv"], p=[0.4, 0.3, 0.2, 0.1]))
        label = int(a + 0.02 * b + (city == "rome") > 0.5) + int(a > 1.2)
        out.append({"a": f"{a:.6f}", "b": f"{b:.5f}", "city": city, "n": int(rng.integers(0, 9)), "label": label})
    return out


def write_csv(file: Path, data: list[dict]) -> Path:
    with open(file, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(data[0]))
        w.writeheader()
        w.writerows(data)
    return file


def write_parquet(file: Path, data: list[dict]) -> Path:
    cols = {k: [r[k] for r in data] for k in data[0]}
    cols["a"], cols["b"] = [float(v) for v in cols["a"]], [float(v) for v in cols["b"]]
    pq.write_table(pa.table(cols), file, row_group_size=400)
    return file


def spec_file(tmp_path: Path, kind: str, stream, preprocess: str = "standardize", bad_samples="error", **src) -> Path:
    source = {"type": kind, "path": f"data.{kind}", "target": "label", "categorical": ["city"], "stream": stream, **src}
    spec = {"netspec": 1, "name": "table_net", "inputs": {"features": {"shape": [7]}},
            "model": {"layers": [{"linear": {"out_features": 16}}, "relu", {"name": "out", "linear": {"out_features": 3}}],
                      "outputs": ["out"]},
            "data": {"source": source, "split": {"val": 0.2, "test": 0.1, "seed": 3}, "bad_samples": bad_samples,
                     "preprocess": {"features": {"type": preprocess}},
                     "loader": {"on_device": False, "num_workers": 0}},
            "train": {"epochs": 2, "batch_size": 64, "optimizer": {"type": "adam", "lr": 0.01}, "loss": "cross_entropy",
                      "seed": 0}}
    path = tmp_path / f"spec-{kind}-{stream}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def write(tmp_path: Path, kind: str, data: list[dict]) -> Path:
    return (write_csv if kind == "csv" else write_parquet)(tmp_path / f"data.{kind}", data)


def bundle(spec: Path):
    from netspec.check import check
    from netspec.train.session import resolve_plan

    checked = check(spec)
    out = prepare_data(checked.spec, resolve_plan(checked), checked.graph, spec.parent)
    make_loaders(out, checked.spec.data, torch.device("cpu"), 64, 128)
    return out


def source(kind: str, **kw):
    kw = {"categorical": ["city"], **kw}
    return SOURCES.get(kind).model_validate({"type": kind, "path": f"data.{kind}", "target": "label", **kw})


def close(a, b, rel=1e-9):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rel, atol=rel)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_the_streamed_table_reads_the_rows_the_in_memory_reader_reads(tmp_path, kind):
    write(tmp_path, kind, rows())
    whole = source(kind, categorical=["city"], stream=False).read(tmp_path, True, PATH)
    streamed = source(kind, categorical=["city"], stream=True).read(tmp_path, True, PATH)
    x = streamed.fields["features"]
    assert isinstance(x, ColumnarRows) and x.shape == whole.fields["features"].shape and x.cheap
    np.testing.assert_array_equal(x[np.arange(N)], whole.fields["features"])
    np.testing.assert_array_equal(np.asarray(streamed.fields["target"]), whole.fields["target"])
    assert streamed.classes == whole.classes and streamed.feature_names == whole.feature_names == ["a", "b", "n"]
    assert streamed.origin.describe(7) == whole.origin.describe(7)
    codes = x.codes("city", np.arange(N))
    assert [x.categories["city"][c] for c in codes] == whole.categorical["city"].tolist()


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("scaler", ["standardize", "minmax"])
def test_streamed_statistics_and_batches_equal_the_in_memory_ones(tmp_path, kind, scaler):
    write(tmp_path, kind, rows())
    whole, streamed = (bundle(spec_file(tmp_path, kind, s, scaler)) for s in (False, True))
    a, b = whole.preprocessor.state, streamed.preprocessor.state
    assert a["categories"] == b["categories"] == {"city": ["kyiv", "lima", "oslo", "rome"]}
    assert a["classes"] == b["classes"] and a["feature_names"] == b["feature_names"]
    close(a["features"]["scale"], b["features"]["scale"])
    close(a["features"]["offset"], b["features"]["offset"])
    train = streamed.arrays["train"]["features"]
    assert isinstance(train, TransformedRows) and train.cheap and isinstance(streamed.arrays["val"]["features"], TransformedRows)
    for split in ("train", "val", "test"):
        np.testing.assert_allclose(np.asarray(streamed.arrays[split]["features"]), whole.arrays[split]["features"],
                                   rtol=1e-6, atol=1e-6)
    assert streamed.loaders["train"].num_workers == 0  # cheap reads: batches are gathered in the main process
    got = list(streamed.loaders["train"].epoch(torch.Generator().manual_seed(5)))
    want = list(whole.loaders["train"].epoch(torch.Generator().manual_seed(5)))
    assert len(got) == len(want) == 17
    for g, w in zip(got, want):
        torch.testing.assert_close(g["target"], w["target"], rtol=0, atol=0)
        torch.testing.assert_close(g["features"], w["features"], rtol=1e-6, atol=1e-6)


def test_the_statistics_pass_reads_only_the_train_split(tmp_path, monkeypatch):
    write(tmp_path, "csv", rows())
    read: list[np.ndarray] = []
    original = ColumnarRows.rows
    monkeypatch.setattr(ColumnarRows, "rows", lambda self, idx: read.append(np.asarray(idx)) or original(self, idx))
    from netspec.data.preprocess import Preprocessor
    from netspec.data.streaming_stats import Moments
    from netspec.spec import data as ds

    table = source("csv", categorical=["city"], stream=True).read(tmp_path, True, PATH)
    train = table.take(np.arange(0, N, 3))
    assert isinstance(train.fields["features"], Selected) and not read  # a split reads nothing
    state = Preprocessor(ds.Preprocess()).fit(train, False).state
    seen = np.concatenate(read)
    assert sorted(seen.tolist()) == list(range(0, N, 3)) and max(len(r) for r in read) <= 256  # chunk by chunk
    x = table.fields["features"][np.arange(0, N, 3)].astype(np.float64)
    mom = Moments(3)
    for k in range(0, len(x), 100):  # the Chan merge of uneven chunks equals the two-pass statistics
        mom.add(x[k:k + 37])
        mom.add(x[k + 37:k + 100])
    close(mom.mean, x.mean(0), 1e-12)
    close(mom.std, x.std(0), 1e-12)
    close(state["features"]["offset"][:3], (-x.mean(0) / x.std(0)).tolist(), 1e-9)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_trained_weights_equal_the_in_memory_run(tmp_path, kind):
    from netspec.checkpoint.file import load_checkpoint, run_checkpoint

    write(tmp_path, kind, rows())
    runner = CliRunner()
    for stream in (False, True):
        result = runner.invoke(app, ["train", str(spec_file(tmp_path, kind, stream)), "--out", str(tmp_path / f"run-{stream}")])
        assert result.exit_code == 0, result.output
    a, b = (load_checkpoint(run_checkpoint(tmp_path / f"run-{s}")) for s in (False, True))
    assert a["preprocess"]["categories"] == b["preprocess"]["categories"]
    for name, w in a["models"]["model"].items():
        torch.testing.assert_close(b["models"]["model"][name], w, rtol=1e-6, atol=1e-6)
    assert list((tmp_path / ".netspec-cache").glob(f"{kind}-*/meta.json"))


def test_predict_after_a_streamed_run_equals_predict_after_an_in_memory_run(tmp_path):
    data = rows()
    write(tmp_path, "csv", data)
    new = tmp_path / "new.csv"
    write_csv(new, [{k: v for k, v in r.items() if k != "label"} for r in rows(40, seed=9)])
    runner = CliRunner()
    outputs = []
    for stream in (False, True):
        spec = spec_file(tmp_path, "csv", stream)
        assert runner.invoke(app, ["train", str(spec), "--out", str(tmp_path / f"run-{stream}")]).exit_code == 0
        out = tmp_path / f"pred-{stream}.csv"
        result = runner.invoke(app, ["predict", str(spec), "--checkpoint", str(tmp_path / f"run-{stream}"),
                                     "--input", str(new), "--output", str(out)])
        assert result.exit_code == 0, result.output
        outputs.append(list(csv.DictReader(out.open())))
    assert len(outputs[0]) == len(outputs[1]) == 40 and outputs[0][0].keys() == outputs[1][0].keys()
    for x, y in zip(*outputs):
        for key, value in x.items():
            try:
                assert abs(float(value) - float(y[key])) <= 1e-5, key
            except ValueError:
                assert value == y[key]


def test_a_bad_value_in_a_late_batch_is_a_located_error(tmp_path):
    data = rows()
    data[1400]["b"] = "oops"  # line 1402: far past the first record batches
    write(tmp_path, "csv", data)
    result = CliRunner().invoke(app, ["train", str(spec_file(tmp_path, "csv", True)), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / 'data.csv'}, line 1402: column 'b' holds 'oops', not a finite number" in result.output
    assert "spec-csv-True.yaml:" in result.output and "Traceback" not in result.output
    assert not list((tmp_path / ".netspec-cache").glob("csv-*"))  # no half-built cache is left


def test_a_ragged_row_and_a_null_in_late_batches_are_located(tmp_path):
    data = rows()
    write(tmp_path, "csv", data)
    lines = (tmp_path / "data.csv").read_text().splitlines()
    lines[1300] = "0.5,1.0,rome"  # line 1301
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"data.csv, line 1301: 3 values, the header has 5") as err:
        source("csv", stream=True).read(tmp_path, True, PATH)
    assert err.value.path == PATH + ("path",)
    cols = {k: [r[k] for r in data] for k in data[0]}
    cols["a"] = [None if i == 1333 else float(v) for i, v in enumerate(cols["a"])]
    pq.write_table(pa.table(cols), tmp_path / "data.parquet", row_group_size=400)
    with pytest.raises(DataError, match=r"data.parquet, row 1334: column 'a' holds None, not a finite number"):
        source("parquet", stream=True).read(tmp_path, True, PATH)


def test_skip_leaves_bad_rows_out_as_the_in_memory_reader_does_and_the_cache_replays_the_counts(tmp_path):
    from netspec.data.faults import Faults
    from netspec.spec import data as ds

    data = rows()
    for i in (90, 700, 1450):
        data[i]["a"] = "n/a"
    write(tmp_path, "csv", data)
    spec = yaml.safe_load(spec_file(tmp_path, "csv", True).read_text())
    skip = {"type": "skip", "max_fraction": 0.01}
    got = []
    for stream in (False, True, True):  # the second streamed read reuses the cache
        faults = Faults(ds.DataSpec.model_validate({**spec["data"], "bad_samples": skip}).bad_samples)
        table = source("csv", categorical=["city"], stream=stream).read(tmp_path, True, PATH, faults)
        got.append((len(table), faults.summary(), np.asarray(table.fields["features"])))
    assert got[0][0] == got[1][0] == got[2][0] == N - 3
    assert got[0][1] == got[1][1] == got[2][1] == {str(tmp_path / "data.csv"): {"bad value": 3}}
    np.testing.assert_array_equal(got[0][2], got[1][2])


def test_a_missing_column_is_a_located_error(tmp_path):
    write(tmp_path, "csv", rows(50))
    result = CliRunner().invoke(app, ["train", str(spec_file(tmp_path, "csv", True, target="lable")),
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "column 'lable' not found in data.csv" in result.output and "did you mean 'label'" in result.output
    line = next(i for i, t in enumerate(spec_file(tmp_path, "csv", True, target="lable").read_text().splitlines(), 1)
                if "target: lable" in t)
    assert f"spec-csv-True.yaml:{line}:" in result.output
    write(tmp_path, "parquet", rows(50))
    with pytest.raises(DataError, match="column 'town' not found") as err:
        source("parquet", categorical=["town"], stream=True).read(tmp_path, True, PATH)
    assert err.value.path == PATH + ("categorical", 0)


def test_the_cache_is_reused_and_rebuilt_when_the_file_changes(tmp_path, monkeypatch):
    file = write(tmp_path, "csv", rows())
    builds = []
    build = record_batches.build
    monkeypatch.setattr(record_batches, "build", lambda *a: builds.append(a[1]) or build(*a))
    first = source("csv", stream=True).read(tmp_path, True, PATH)
    again = source("csv", stream=True).read(tmp_path, True, PATH)
    assert len(builds) == 1 and again.fields["features"].folder == first.fields["features"].folder
    source("csv", stream=True, features=["a", "n"]).read(tmp_path, True, PATH)  # other columns: another cache
    assert len(builds) == 2
    changed = rows(seed=4)[:700]
    write_csv(file, changed)
    fresh = source("csv", stream=True).read(tmp_path, True, PATH)
    assert len(builds) == 3 and len(fresh) == 700
    np.testing.assert_allclose(fresh.fields["features"][np.arange(3)][:, 0], [float(r["a"]) for r in changed[:3]],
                               rtol=1e-6)


def test_stream_auto_follows_the_size_threshold(tmp_path, monkeypatch):
    file = write(tmp_path, "csv", rows(100))
    monkeypatch.setenv(columnar.STREAM_ENV, str(file.stat().st_size))  # not larger than the threshold
    assert not isinstance(source("csv").read(tmp_path, True, PATH).fields["features"], ColumnarRows)
    monkeypatch.setenv(columnar.STREAM_ENV, str(file.stat().st_size - 1))
    assert isinstance(source("csv").read(tmp_path, True, PATH).fields["features"], ColumnarRows)
    monkeypatch.delenv(columnar.STREAM_ENV)
    assert columnar.stream_threshold() <= columnar.STREAM_BYTES
    assert isinstance(source("csv", stream=True).read(tmp_path, True, PATH).fields["features"], ColumnarRows)
    assert not isinstance(source("csv", stream=False).read(tmp_path, True, PATH).fields["features"], ColumnarRows)


def test_validate_does_not_read_the_data(tmp_path, monkeypatch):
    (tmp_path / "data.csv").write_text("a,b,city,n,label\n1,2\nnot,a,valid,file\n")
    monkeypatch.setattr(columnar, "streamed_table", lambda *a, **k: pytest.fail("validate read the data"))
    result = CliRunner().invoke(app, ["validate", str(spec_file(tmp_path, "csv", True))])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / ".netspec-cache").exists()


def test_reading_a_streamed_epoch_holds_a_batch_not_the_file(tmp_path):
    write(tmp_path, "csv", rows(8000))
    out = bundle(spec_file(tmp_path, "csv", True))
    loader = out.loaders["train"]
    x = out.arrays["train"]["features"]
    tracemalloc.start()
    for _batch in loader.epoch(torch.Generator().manual_seed(0)):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert x.nbytes > 100_000 and peak < x.nbytes / 2  # the epoch's order (8 bytes a row) and a batch of 64 rows


def test_the_run_info_of_a_streamed_run_counts_skipped_rows(tmp_path):
    data = rows()
    data[1200]["b"] = "?"
    write(tmp_path, "csv", data)
    spec = spec_file(tmp_path, "csv", True, bad_samples={"type": "skip", "max_fraction": 0.01})
    result = CliRunner().invoke(app, ["train", str(spec), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    info = json.loads((tmp_path / "run" / "run_info.json").read_text())
    assert info["data_skipped"] == {str(tmp_path / "data.csv"): {"bad value": 1}}


# ---- JSON lines of token ids -----------------------------------------------------------------------

JSONL_SPEC = {"netspec": 1, "name": "jsonl_net",
              "inputs": {"tokens": {"shape": ["seq"], "dtype": "int64"}, "lengths": {"shape": [], "dtype": "int64"}},
              "model": {"layers": [
                  {"name": "emb", "embedding": {"num_embeddings": 30, "embedding_dim": 8, "padding_idx": 0}, "inputs": ["tokens"]},
                  {"name": "rnn", "lstm": {"hidden_size": 8, "returns": "{returns}", "lengths": True}, "inputs": ["emb", "lengths"]},
                  {"name": "out", "linear": {"out_features": 4}}], "outputs": ["out"]},
              "data": {"source": {"type": "jsonl", "path": "data.jsonl", "target": "y"}, "split": {"val": 0.2, "seed": 1},
                       "loader": {"on_device": False, "num_workers": 0}},
              "train": {"task": "classification", "epochs": 2, "batch_size": 32, "optimizer": {"type": "adam", "lr": 0.01},
                        "seed": 0}}


def write_jsonl(file: Path, n: int = 600, per_token: bool = False, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        tokens = rng.integers(1, 30, int(rng.integers(1, 25))).tolist()
        y = [t % 4 for t in tokens] if per_token else int(sum(tokens) % 4)
        lines.append(json.dumps({"ids": tokens, "y": y}))
    file.write_text("\n".join(lines) + "\n")
    return lines


def jsonl_spec(tmp_path: Path, stream, per_token: bool, **data) -> Path:
    spec = json.loads(json.dumps(JSONL_SPEC).replace("{returns}", "sequence" if per_token else "last"))
    spec["data"]["source"].update(tokens="ids", stream=stream)
    spec["data"].update(data)
    path = tmp_path / f"jsonl-{stream}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize("per_token", [False, True])
def test_streamed_jsonl_equals_the_in_memory_reader_batches_and_weights(tmp_path, per_token):
    from netspec.checkpoint.file import load_checkpoint, run_checkpoint
    from netspec.data.jsonl_stream import PaddedRows, RaggedRows

    write_jsonl(tmp_path / "data.jsonl", per_token=per_token)
    whole, streamed = (bundle(jsonl_spec(tmp_path, s, per_token)) for s in (False, True))
    assert whole.preprocessor.state == streamed.preprocessor.state  # max_len (and label_pad) from the train split
    tokens = streamed.arrays["train"]["tokens"]
    assert isinstance(tokens, PaddedRows) and isinstance(tokens.base, RaggedRows) and tokens.cheap
    for split in ("train", "val"):
        for name, want in whole.arrays[split].items():
            np.testing.assert_array_equal(np.asarray(streamed.arrays[split][name]), want, err_msg=f"{split}.{name}")
    got = list(streamed.loaders["train"].epoch(torch.Generator().manual_seed(2)))
    want = list(whole.loaders["train"].epoch(torch.Generator().manual_seed(2)))
    assert len(got) == len(want) == 8  # 480 train lines, batches of 64
    for g, w in zip(got, want):
        assert g.keys() == w.keys() and all(torch.equal(g[k], w[k]) for k in g)
    runner = CliRunner()
    for stream in (False, True):
        result = runner.invoke(app, ["train", str(jsonl_spec(tmp_path, stream, per_token)), "--out", str(tmp_path / f"r{stream}")])
        assert result.exit_code == 0, result.output
    a, b = (load_checkpoint(run_checkpoint(tmp_path / f"r{s}")) for s in (False, True))
    for name, w in a["models"]["model"].items():
        torch.testing.assert_close(b["models"]["model"][name], w, rtol=1e-6, atol=1e-6)


def test_a_bad_jsonl_line_late_in_the_file_is_located_and_skip_counts_it(tmp_path):
    from netspec.data.faults import Faults
    from netspec.data.jsonl_stream import RaggedRows
    from netspec.spec import data as ds

    lines = write_jsonl(tmp_path / "data.jsonl", n=2000)
    lines[1800] = '{"ids": [1, "two"], "y": 1}'
    (tmp_path / "data.jsonl").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["train", str(jsonl_spec(tmp_path, True, False)), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert f"{tmp_path / 'data.jsonl'}, line 1801: 'ids' is not a list of integers" in result.output
    src = SOURCES.get("jsonl").model_validate({"type": "jsonl", "path": "data.jsonl", "tokens": "ids", "target": "y",
                                               "stream": True})
    for _ in range(2):  # built, then reused: the same count
        faults = Faults(ds.DataSpec.model_validate({"source": {"type": "jsonl", "path": "data.jsonl"},
                                                    "bad_samples": {"type": "skip", "max_fraction": 0.01}}).bad_samples)
        table = src.read(tmp_path, True, PATH, faults)
        assert isinstance(table.fields["tokens"], RaggedRows) and len(table) == 1999
        assert faults.summary() == {str(tmp_path / "data.jsonl"): {"bad line": 1}}
        assert table.origin.describe(1800) == f"{tmp_path / 'data.jsonl'}, line 1802"


def test_class_weights_auto_of_a_streamed_per_token_target_count_the_labelled_tokens(tmp_path):
    write_jsonl(tmp_path / "data.jsonl", per_token=True)
    whole, streamed = (bundle(jsonl_spec(tmp_path, s, True, class_weights="auto")) for s in (False, True))
    y = whole.arrays["train"]["target"]
    counts = np.bincount(y[y != -100], minlength=4)
    want = counts.sum() / (4 * counts)
    np.testing.assert_allclose(streamed.class_weights, want, rtol=1e-12)
    np.testing.assert_allclose(whole.class_weights, want, rtol=1e-12)
