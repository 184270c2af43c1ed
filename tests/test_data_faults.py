"""Data faults: missing files, unreadable images, ragged CSV rows, labels out of range, NaN
features, broken encodings — a located error naming the file and the row, or (data.bad_samples:
skip) the sample left out and counted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli
from netspec.errors import DataError
from netspec.train.api import train_spec

CSV_SPEC = """netspec: 1
inputs: {x: {shape: [2]}}
model: {layers: [{name: logits, linear: {out_features: 2}}]}
data:
  source: {type: csv, path: d.csv, target: y}
  split: {val: 0.25, seed: 0}
  BAD
train: {epochs: 1, batch_size: 8}
"""


def _csv(tmp_path, extra: dict[int, str] | None = None, rows: int = 40) -> None:
    lines = ["a,b,y"] + [f"{i * 0.1:.1f},{(i % 7) * 0.5},{i % 2}" for i in range(rows)]
    for i, text in (extra or {}).items():
        lines[i] = text  # line i + 1 of the file (the header is line 1)
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")


def _fail(spec, tmp_path) -> DataError:
    with pytest.raises(DataError) as info:
        train_spec(spec, out=tmp_path / "run")
    return info.value


@pytest.mark.parametrize("line,text,message", [
    (5, "0.4,nan,0", "d.csv, line 6: column 'b' holds 'nan', not a finite number"),
    (7, "inf,1.0,1", "d.csv, line 8: column 'a' holds 'inf', not a finite number"),
    (9, ",1.0,1", "d.csv, line 10: column 'a' holds '', not a finite number"),
    (11, "0.1,abc,1", "d.csv, line 12: column 'b' holds 'abc', not a finite number"),
    (13, "0.1,1.0", "d.csv, line 14: 2 values, the header has 3"),
])
def test_a_bad_csv_row_names_the_file_and_line(write_spec, tmp_path, line, text, message):
    _csv(tmp_path, {line: text})
    err = _fail(write_spec(CSV_SPEC.replace("BAD", "")), tmp_path)
    assert message in err.message and err.path == ("data", "source", "path")
    assert "bad_samples: skip" in err.hint or "categorical" in err.hint


def test_skip_leaves_bad_rows_out_and_counts_them(write_spec, tmp_path):
    _csv(tmp_path, {3: "0.2,nan,0", 4: "1,2", 6: "x,1,1"})
    spec = write_spec(CSV_SPEC.replace("BAD", "bad_samples: skip"))
    proc = run_cli("train", str(spec), "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    assert "data.bad_samples: skip left out 3 sample(s): d.csv (1 ragged row, 2 bad value)" in proc.stderr
    info = json.loads((tmp_path / "run" / "run_info.json").read_text())
    assert info["data_skipped"] == {str(tmp_path / "d.csv"): {"ragged row": 1, "bad value": 2}}
    from netspec.check import check
    from netspec.train.session import build_session

    session = build_session(check(spec))
    assert session.data.size("train") + session.data.size("val") == 40 - 3


def test_skipping_more_than_max_fraction_is_an_error(write_spec, tmp_path):
    _csv(tmp_path, {i: "nan,1,0" for i in range(1, 11)})
    err = _fail(write_spec(CSV_SPEC.replace("BAD", "bad_samples: {type: skip, max_fraction: 0.2}")), tmp_path)
    assert err.message == f"10 of 40 samples of {tmp_path / 'd.csv'} are unusable (10 bad value), more than max_fraction 0.2"


def test_not_utf8_and_broken_csv_are_named(write_spec, tmp_path):
    spec = write_spec(CSV_SPEC.replace("BAD", ""))
    (tmp_path / "d.csv").write_bytes(b"a,b,y\n0.1,0.2,1\n0.1,0.2,caf\xe9\n")
    assert _fail(spec, tmp_path).message == f"{tmp_path / 'd.csv'}, line 3: not UTF-8 text"
    (tmp_path / "d.csv").write_text("a,b,y\n0.1,0.2,1\n0.3,\"" + "9" * 200_000 + "\",0\n")
    err = _fail(spec, tmp_path)  # the csv module's own error, located
    assert err.message == f"{tmp_path / 'd.csv'}, line 3: field larger than field limit (131072)"


ARRAYS_SPEC = """netspec: 1
inputs: {x: {shape: [3]}}
model: {layers: [{name: logits, linear: {out_features: 4}}]}
data: {source: {type: arrays, path: d.npz}, split: {val: 0.2, stratify: false}BAD}
train: {epochs: 1}
"""


def test_nan_features_and_labels_out_of_range_in_arrays(write_spec, tmp_path):
    x = np.random.default_rng(0).random((30, 3)).astype(np.float32)
    x[17, 1] = np.nan
    np.savez(tmp_path / "d.npz", features=x, target=np.arange(30) % 4)
    spec = write_spec(ARRAYS_SPEC.replace("BAD", ""))
    err = _fail(spec, tmp_path)
    assert err.message == f"{tmp_path / 'd.npz'}, index 17: array 'features' holds NaN/Inf"
    x[17, 1] = 0.5
    y = np.arange(30) % 4
    y[23] = 9
    np.savez(tmp_path / "d.npz", features=x, target=y)
    err = _fail(spec, tmp_path)
    assert "label 9" in err.message and f"{tmp_path / 'd.npz'}, index 23" in err.message
    assert "out of range for 4 classes" in err.message
    np.savez(tmp_path / "d.npz", features=np.where(np.arange(30)[:, None] == 5, np.inf, x), target=np.arange(30) % 4)
    result = train_spec(write_spec(ARRAYS_SPEC.replace("BAD", ", bad_samples: skip"), "s.yaml"), out=tmp_path / "skip")
    assert result.epochs == 1
    info = json.loads((tmp_path / "skip" / "run_info.json").read_text())
    assert info["data_skipped"] == {str(tmp_path / "d.npz"): {"NaN/Inf value": 1}}


def test_a_jsonl_label_out_of_range_names_the_line(write_spec, tmp_path):
    lines = [json.dumps({"tokens": [1, 2, 3], "label": i % 2}) for i in range(20)]
    lines[12] = json.dumps({"tokens": [1, 2], "label": 5})
    lines[3] = "{not json"
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n")
    text = """netspec: 1
inputs: {tokens: {shape: [seq], dtype: int64}}
model:
  layers:
    - embedding: {num_embeddings: 8, embedding_dim: 4}
    - mean: {dim: 1}
    - {name: logits, linear: {out_features: 2}}
data: {source: {type: jsonl, path: d.jsonl, target: label}, split: {val: 0.2, stratify: false}BAD}
train: {epochs: 1}
"""
    err = _fail(write_spec(text.replace("BAD", "")), tmp_path)
    assert err.message.startswith(f"{tmp_path / 'd.jsonl'}, line 4: ")
    err = _fail(write_spec(text.replace("BAD", ", bad_samples: skip")), tmp_path)
    assert "label 5" in err.message and f"{tmp_path / 'd.jsonl'}, line 13" in err.message  # labels are never skipped


def _images(tmp_path, broken: dict[str, bytes]):
    from PIL import Image

    for k, name in enumerate(("cats", "dogs")):
        folder = tmp_path / "img" / name
        folder.mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.full((8, 8), 40 * k + i, np.uint8)).save(folder / f"{i}.png")
    for rel, data in broken.items():
        (tmp_path / "img" / rel).write_bytes(data)


IMG_SPEC = """netspec: 1
inputs: {image: {shape: [1, 8, 8]}}
model: {layers: [flatten, {name: logits, linear: {out_features: 2}}]}
data: {source: {type: image_folder, path: img, channels: 1}, split: {val: 0.25, seed: 0}BAD}
train: {epochs: 1, batch_size: 4}
"""


def test_an_unreadable_image_is_named_or_skipped(write_spec, tmp_path):
    _images(tmp_path, {"dogs/3.png": b"\x89PNG\r\n\x1a\n not really", "cats/9.png": b""})
    err = _fail(write_spec(IMG_SPEC.replace("BAD", "")), tmp_path)
    assert err.message.startswith(f"{tmp_path / 'img' / 'cats' / '9.png'}: cannot read the image")
    proc = run_cli("train", str(write_spec(IMG_SPEC.replace("BAD", ", bad_samples: {type: skip, max_fraction: 0.2}"), "s.yaml")),
                   "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    assert "left out 2 sample(s): img (2 unreadable image)" in proc.stderr


def test_missing_files_are_located_at_their_keys(write_spec, tmp_path):
    _csv(tmp_path)
    spec = write_spec(CSV_SPEC.replace("BAD", "").replace("split: {val: 0.25, seed: 0}", "split: {type: files, val: v.csv}"))
    proc = run_cli("train", str(spec), "--quiet")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{spec}:6:" in proc.stderr and "file not found" in proc.stderr and "v.csv" in proc.stderr
