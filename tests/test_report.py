"""Run artefacts: after `netspec train examples/digits_cnn.yaml --epochs 2` the run directory holds
real PNG plots and a self-contained report.html whose images load in headless Chromium;
`netspec report` rebuilds them and `netspec compare` plots runs on shared axes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import EXAMPLES, run_cli
from system_tools import ensure_tool

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PROBE = ('<script>window.addEventListener("load",()=>{const r=[...document.images].map(i=>({alt:i.alt,'
         'complete:i.complete,w:i.naturalWidth,h:i.naturalHeight}));const p=document.createElement("pre");'
         'p.id="probe";p.textContent=JSON.stringify(r);document.body.appendChild(p);});</script>')


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("digits") / "run"
    proc = run_cli("train", str(EXAMPLES / "digits_cnn.yaml"), "--epochs", "2", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def chromium() -> str:
    """The Chromium executable; installed from the system's packages when missing (root + apt-get)."""
    return ensure_tool(("chromium", "chromium-browser"), "chromium")


def assert_real_png(path: Path, min_size: tuple[int, int] = (200, 150)) -> None:
    with Image.open(path) as im:
        assert im.format == "PNG"
        im.load()
        pixels = np.asarray(im.convert("RGB"), dtype=np.float64)
    h, w, _ = pixels.shape
    assert w >= min_size[0] and h >= min_size[1], (path, w, h)
    assert pixels.std() > 10, f"{path} is (nearly) one colour"
    colours = np.unique(pixels.reshape(-1, 3)[:: 7], axis=0)
    assert len(colours) > 20, f"{path} has only {len(colours)} colours"


def assert_real_svg(path: Path) -> None:
    """An SVG chart that parses and draws something: a line per series or the matrix's cells."""
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg") and float(root.get("width")) >= 200 and float(root.get("height")) >= 150, path
    drawn = [e for e in root.iter() if e.tag.endswith(("polyline", "circle", "rect")) and e.get("class") in ("series", "cell")
             or e.tag.endswith("circle")]
    assert drawn, f"{path} draws no data"


def test_train_writes_plots_and_report(run_dir):
    plots = {p.name for p in (run_dir / "plots").glob("*.svg")}
    assert plots == {"loss.svg", "accuracy.svg", "f1_macro.svg", "lr.svg", "confusion_matrix.svg"}
    assert not list((run_dir / "plots").glob("*.png"))
    for p in (run_dir / "plots").glob("*.svg"):
        assert_real_svg(p)
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/svg+xml;base64,') == 5
    assert not re.search(r'(src|href)="(?!data:)', html), "report.html must not reference external files"
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert f"{rows[-1]['val.accuracy']:.6g}" in html  # the final metrics
    assert "digits-cnn" in html and "conv2d" in html and "netspec: 1" in html  # name, summary table, spec
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["environment"]["torch"] and info["result"]["epochs"] == 2
    assert info["summary"]["params"] == 14_826


def test_confusion_matrix_matches_the_val_predictions(run_dir):
    """The saved matrix equals sklearn's on the best checkpoint's val predictions, and counts the val split."""
    import torch
    from sklearn.metrics import confusion_matrix

    from netspec.check import check
    from netspec.checkpoint import load_checkpoint
    from netspec.train.session import build_session

    cm = json.loads((run_dir / "confusion_matrix.json").read_text())
    matrix = np.array(cm["matrix"])
    assert matrix.shape == (10, 10) and cm["labels"] == [str(i) for i in range(10)]
    ckpt = load_checkpoint(run_dir / "best.pt")
    session = build_session(check(EXAMPLES / "digits_cnn.yaml"), preprocess=ckpt["preprocess"])
    session.models["model"].load_state_dict(ckpt["models"]["model"])
    session.models["model"].eval()
    preds, targets = [], []
    with torch.no_grad():
        for batch in session.data.loaders["val"].epoch():
            preds.append(session.models["model"](batch["image"]).argmax(1))
            targets.append(batch["target"])
    expected = confusion_matrix(torch.cat(targets).numpy(), torch.cat(preds).numpy(), labels=range(10))
    np.testing.assert_array_equal(matrix, expected)
    assert matrix.sum() == session.data.size("val")


def test_report_html_images_load_in_headless_chromium(run_dir, tmp_path):
    exe = chromium()
    page = tmp_path / "probe.html"
    page.write_text((run_dir / "report.html").read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                    encoding="utf-8")
    profile = tmp_path / "profile"
    profile.mkdir()
    proc = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--dump-dom",
                           page.as_uri()], capture_output=True, text=True, timeout=180)
    found = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"Chromium did not run the page's script (rc {proc.returncode}): {proc.stderr[-500:]}"
    images = json.loads(found.group(1).replace("&quot;", '"'))
    assert len(images) == 5
    for im in images:
        assert im["complete"] and im["w"] > 0 and im["h"] > 0, im


def test_netspec_report_rebuilds_from_the_run_directory(run_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "plots")
    (copy / "report.html").unlink()
    proc = run_cli("report", str(copy))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(copy / "report.html")
    assert {p.name for p in (copy / "plots").glob("*.svg")} == {p.name for p in (run_dir / "plots").glob("*.svg")}
    assert (copy / "report.html").read_text().count("data:image/svg+xml;base64,") == 5


def test_report_of_a_run_without_run_info_uses_the_rows(tmp_path):
    from netspec.report import read_run, write_report

    rows = [{"epoch": e, "train.loss": 1.0 / e, "val.loss": 1.2 / e, "val.r2": 0.1 * e, "lr": 0.01, "epoch_time_s": 0.5}
            for e in (1, 2, 3)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = write_report(tmp_path)
    run = read_run(tmp_path)
    assert run.metric_names() == ["loss", "r2"]
    assert run.result()["epochs"] == 3 and run.result()["train_time_s"] == pytest.approx(1.5)
    assert {p.name for p in (tmp_path / "plots").glob("*.svg")} == {"loss.svg", "r2.svg", "lr.svg"}
    assert "val.r2" in path.read_text()


def test_report_and_compare_errors_exit_1(tmp_path):
    proc = run_cli("report", str(tmp_path))
    assert proc.returncode == 1 and "not a run directory" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("compare", str(tmp_path))
    assert proc.returncode == 2  # usage: fewer than two runs


def test_compare_plots_runs_on_shared_axes(run_dir, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    (other / "metrics.jsonl").write_text("".join(json.dumps({**r, "val.loss": r["val.loss"] * 2}) + "\n" for r in rows))
    out = tmp_path / "cmp"
    proc = run_cli("compare", str(run_dir), str(other), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    files = {Path(line).name for line in proc.stdout.split()}
    assert {"loss.png", "accuracy.png", "lr.png", "compare.html"} <= files
    assert_real_png(out / "loss.png")
    html = (out / "compare.html").read_text()
    assert "run" in html and str(other) in html and html.count("data:image/png;base64,") == len(files) - 1
