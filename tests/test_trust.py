"""Never silently wrong (issue 14): predictions, checkpoints and runs a user can trust, through the
real command line. One run is trained once (module fixture) and every command is pointed at it.

Each test names the defect it guards; each failed on the code before the fix (columns taken by
position, a run directory meaning last.pt, --epochs not recorded, --out overwritten, the test split
never reported, a checkpoint of another spec loaded without a word).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import run_cli

CULTIVARS = {0: "barolo", 1: "grignolino", 2: "barbera"}
SPEC = """\
netspec: 1
name: wine-trust
inputs:
  features: {shape: [13]}
model:
  layers:
    - {name: hidden, linear: {out_features: 64, activation: relu}}
    - {name: logits, linear: {out_features: 3}}
data:
  source: {type: csv, path: wine.csv, target: cultivar}
  split: {val: 0.25, test: 0.25, seed: 1}
train:
  epochs: 30
  batch_size: 16
  optimizer: {type: adam, lr: 0.05}
  early_stopping: {monitor: val.loss, patience: 30}
"""


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Wine (scikit-learn's copy, as a CSV with named columns and string labels), trained with
    --epochs 12 on a spec that says 30; a high learning rate makes the best epoch an early one."""
    from sklearn.datasets import load_wine

    root = tmp_path_factory.mktemp("trust")
    bunch = load_wine()
    names = [str(n) for n in bunch.feature_names]
    rows = [list(map(float, x)) + [CULTIVARS[int(y)]] for x, y in zip(bunch.data, bunch.target)]
    write_csv(root / "wine.csv", names + ["cultivar"], rows)
    (root / "spec.yaml").write_text(SPEC, encoding="utf-8")
    proc = run_cli("train", str(root / "spec.yaml"), "--out", str(root / "run"), "--epochs", "12", cwd=root)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((root / "run" / "summary.json").read_text())
    assert summary["best_epoch"] < summary["epochs"] == 12, "the fixture needs a best epoch before the last"
    return {"root": root, "names": names, "x": bunch.data, "y": bunch.target, "proc": proc, "summary": summary}


def cli(*args: str) -> SimpleNamespace:
    """netspec's entry point (``main``, as the console script runs it) in this process: the exit
    code and streams a user sees, without a second torch import per call."""
    from netspec.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def predict(run, input_name: str, *extra: str):
    root = run["root"]
    out = root / f"pred-{Path(input_name).stem}.csv"
    proc = cli("predict", str(root / "spec.yaml"), "--checkpoint", str(root / "run"), "--input", str(root / input_name),
               "--output", str(out), *extra)
    return proc, out


def labels(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [row["label"] for row in csv.DictReader(fh)]


# ---- 1, 2: prediction inputs are matched by column name ---------------------------------------------

def test_predict_matches_columns_by_name_not_position(run):
    root, names, x = run["root"], run["names"], run["x"]
    write_csv(root / "same.csv", names, x.tolist())
    order = list(reversed(range(len(names))))
    write_csv(root / "reordered.csv", [names[i] for i in order] + ["note"], [[r[i] for i in order] + ["n/a"] for r in x.tolist()])
    p1, out1 = predict(run, "same.csv")
    p2, out2 = predict(run, "reordered.csv")
    assert p1.returncode == 0 and p2.returncode == 0, p1.stderr + p2.stderr
    assert labels(out1) == labels(out2)
    accuracy = np.mean([a == CULTIVARS[int(y)] for a, y in zip(labels(out1), run["y"])])
    assert accuracy > 0.9  # the labels are right, not merely the same: wine is easy
    assert "ignored 1 column(s) the model was not trained on: note" in p2.stderr
    assert "matched by name" in p2.stderr


def test_a_renamed_column_is_a_located_error_with_a_did_you_mean(run):
    root, names, x = run["root"], run["names"], run["x"]
    write_csv(root / "renamed.csv", [n if n != "proline" else "prolin" for n in names], x.tolist())
    proc, out = predict(run, "renamed.csv")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "renamed.csv:1:1: " in proc.stderr and "'proline'" in proc.stderr and "did you mean 'prolin'?" in proc.stderr
    assert not out.exists()


def test_a_nan_cell_names_the_file_line_and_column(run):
    root, names, x = run["root"], run["names"], run["x"]
    rows = x.tolist()
    rows[3][names.index("magnesium")] = "nan"
    write_csv(root / "holes.csv", names, rows)
    proc, _ = predict(run, "holes.csv")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "holes.csv:5:" in proc.stderr and "column 'magnesium'" in proc.stderr  # header = line 1, row 3 = line 5


@pytest.mark.parametrize("case", ["header only", "not utf-8", "ragged row", "object npy", "3-d npy", "corrupt npz"])
def test_inputs_that_do_not_fit_are_located_errors(run, case):
    root, names, x = run["root"], run["names"], run["x"]
    name = {"object npy": "bad.npy", "3-d npy": "cube.npy", "corrupt npz": "bad.npz"}.get(case, f"{case.replace(' ', '_')}.csv")
    path = root / name
    if case == "header only":
        write_csv(path, names, [])
    elif case == "not utf-8":
        path.write_bytes((",".join(names) + "\n").encode() + b"1,2\xff\n")
    elif case == "ragged row":
        write_csv(path, names, [x[0].tolist(), x[1].tolist()[:5]])
    elif case == "object npy":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    elif case == "3-d npy":
        np.save(path, np.zeros((4, 13, 2), np.float32))
    else:
        path.write_bytes(b"PK\x03\x04 not really a zip")
    proc, _ = predict(run, name)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert proc.stderr.startswith(f"{path}:") or proc.stderr.startswith(f"{path} "), proc.stderr


def test_predict_reads_jsonl_and_parquet_like_csv(run):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    root, names, x = run["root"], run["names"], run["x"]
    write_csv(root / "plain.csv", names, x.tolist())
    with open(root / "rows.jsonl", "w", encoding="utf-8") as fh:
        for r in x.tolist():
            fh.write(json.dumps(dict(zip(reversed(names), reversed(r)))) + "\n")
    pq.write_table(pa.table({n: x[:, i] for i, n in enumerate(names)}), root / "rows.parquet")
    (p1, out1), (p2, out2), (p3, out3) = predict(run, "plain.csv"), predict(run, "rows.jsonl"), predict(run, "rows.parquet")
    assert p1.returncode == p2.returncode == p3.returncode == 0, p2.stderr + p3.stderr
    assert labels(out1) == labels(out2) == labels(out3)


def test_onnx_metadata_names_the_feature_columns_in_order(run):
    import onnx

    root = run["root"]
    proc = run_cli("export", str(root / "spec.yaml"), "--checkpoint", str(root / "run"), "-o", str(root / "w.onnx"), cwd=root)
    assert proc.returncode == 0, proc.stderr
    meta = {p.key: p.value for p in onnx.load(str(root / "w.onnx")).metadata_props}
    assert json.loads(meta["netspec.feature_columns"]) == run["names"]
    assert json.loads(meta["netspec.weights"])["epoch"] == run["summary"]["best_epoch"]


# ---- 3: a run directory means the weights the run reported ------------------------------------------

def test_evaluate_and_export_of_a_run_directory_use_the_reported_best_weights(run):
    root, summary = run["root"], run["summary"]
    proc = run_cli("evaluate", str(root / "spec.yaml"), "--checkpoint", str(root / "run"), "--json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["checkpoint"].startswith(f"{root / 'run' / 'best.pt'} (epoch {summary['best_epoch']}")
    assert got["metrics"]["val.loss"] == pytest.approx(summary["metrics"]["val.loss"], rel=1e-5)
    assert got["metrics"]["val.accuracy"] == pytest.approx(summary["metrics"]["val.accuracy"], rel=1e-6)
    proc = run_cli("export", str(root / "spec.yaml"), "--checkpoint", str(root / "run"), "-o", str(root / "e.onnx"), cwd=root)
    assert proc.returncode == 0 and f"weights from {root / 'run' / 'best.pt'} (epoch {summary['best_epoch']}" in proc.stdout


def test_the_closing_line_names_the_reported_epoch_weights_report_and_test_split(run):
    line, summary = run["proc"].stdout.strip().splitlines()[-1], run["summary"]
    assert f"best epoch {summary['best_epoch']} (restored)" in line
    assert f"weights {Path(summary['run_dir']) / 'best.pt'}" in line and "report " in line and "report.html" in line
    # 12: the held-out split, evaluated once with the reported weights, printed and recorded
    assert "test.accuracy" in line and "test.loss" in line
    info = json.loads((run["root"] / "run" / "run_info.json").read_text())
    assert info["result"]["metrics"]["test.accuracy"] == summary["metrics"]["test.accuracy"] > 0.8
    assert info["result"]["checkpoint"] == "best.pt" and info["result"]["reported_epoch"] == summary["best_epoch"]
    assert "test.accuracy" in (run["root"] / "run" / "report.html").read_text()


def test_a_checkpoint_of_another_model_is_refused_by_name(run):
    root = run["root"]
    (root / "relu6.yaml").write_text(SPEC.replace("activation: relu}", "activation: relu6}"), encoding="utf-8")
    write_csv(root / "one.csv", run["names"], run["x"][:3].tolist())
    proc = cli("predict", str(root / "relu6.yaml"), "--checkpoint", str(root / "run"), "--input", str(root / "one.csv"),
               "--output", str(root / "p.csv"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{root / 'run' / 'best.pt'}: the model differs from the one the checkpoint was trained with" in proc.stderr
    assert "activation" in proc.stderr


# ---- 4, 5: the run records its overrides; an earlier run is never overwritten -----------------------

def test_epochs_is_recorded_and_resume_keeps_it(run, tmp_path):
    root = run["root"]
    assert "epochs: 12" in (root / "run" / "spec.yaml").read_text()
    copy = tmp_path / "copy"
    shutil.copytree(root / "run", copy)
    proc = run_cli("train", str(root / "spec.yaml"), "--resume", str(copy), cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert len((copy / "metrics.jsonl").read_text().splitlines()) == 12  # not trained on to the spec's 30
    edited = root / "edited.yaml"
    edited.write_text(SPEC.replace("batch_size: 16", "batch_size: 8"))
    proc = run_cli("train", str(edited), "--resume", str(copy), cwd=root)
    assert proc.returncode == 1 and "train.batch_size: changed since the run" in proc.stderr and "16 -> 8" in proc.stderr


def test_out_never_overwrites_an_earlier_run(run, tmp_path):
    root = run["root"]
    target = tmp_path / "r"
    shutil.copytree(root / "run", target)
    before = (target / "metrics.jsonl").read_text()
    proc = run_cli("train", str(root / "spec.yaml"), "--out", str(target), "--epochs", "1", cwd=root)
    assert proc.returncode == 1 and f"{target}: this run directory already holds an earlier run" in proc.stderr
    assert (target / "metrics.jsonl").read_text() == before
    proc = run_cli("train", str(root / "spec.yaml"), "--out", str(target), "--epochs", "1", "--overwrite", cwd=root)
    assert proc.returncode == 0 and len((target / "metrics.jsonl").read_text().splitlines()) == 1
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    proc = run_cli("train", str(root / "spec.yaml"), "--out", str(other), "--epochs", "1", "--overwrite", cwd=root)
    assert proc.returncode == 1 and "clears only netspec run directories" in proc.stderr
    assert (other / "notes.txt").read_text() == "keep me"


def test_a_second_process_on_a_run_directory_is_refused(run, tmp_path):
    from netspec.paths import RunLock

    root = run["root"]
    busy = tmp_path / "busy"
    shutil.copytree(root / "run", busy)
    with RunLock(busy):
        proc = run_cli("train", str(root / "spec.yaml"), "--resume", str(busy), "--epochs", "13", cwd=root)
    assert proc.returncode == 1 and "another netspec process is training in this run directory" in proc.stderr
    assert len((busy / "metrics.jsonl").read_text().splitlines()) == 12


# ---- 13: a GAN has no best epoch unless the spec names a monitor ------------------------------------

def test_a_gan_keeps_and_reports_its_last_weights(tmp_path):
    from conftest import EXAMPLES

    proc = run_cli("train", str(EXAMPLES / "digits_gan.yaml"), "--epochs", "2", "--out", str(tmp_path / "gan"))
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "gan" / "best.pt").exists()  # chosen by the discriminator's loss, it meant nothing
    assert "last epoch 2" in proc.stdout and f"weights {tmp_path / 'gan' / 'last.pt'}" in proc.stdout
    proc = run_cli("sample", str(EXAMPLES / "digits_gan.yaml"), "--checkpoint", str(tmp_path / "gan"), "-n", "4",
                   "--output", str(tmp_path / "s.npz"))
    assert proc.returncode == 0 and f"weights from {tmp_path / 'gan' / 'last.pt'} (epoch 2)" in proc.stdout
