"""Registry-wide: every registered data source, built from its EXAMPLE (the files it names written
into a temporary folder), reads exactly the data its reference says: the file's own content, the
library's arrays (scikit-learn), or the documented generating rule. A new source without a
reference case here fails ``test_every_source_has_a_reference``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from netspec.errors import DataError
from netspec.registry import UnknownComponent
from netspec.source import load_text
from netspec.sources import SOURCES
from netspec.spec.data import Source

PATH = ("data", "source")
ADAPTER = TypeAdapter(Source)


def ref_sklearn(tmp):
    from sklearn.datasets import load_digits

    digits = load_digits()
    return True, {"image": digits.images[:, None].astype(np.float32), "target": digits.target}


HOUSES = [("oslo", "50.5", "300"), ("bergen", "70", "410.5"), ("oslo", "31.25", "199")]


def ref_csv(tmp):
    rows = ["city,area,price"] + [",".join(r) for r in HOUSES]
    (tmp / "houses.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return False, {"features": np.array([[float(a)] for _, a, _ in HOUSES], np.float32),
                   "target": np.array([float(p) for *_, p in HOUSES], np.float32)}


def ref_parquet(tmp):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    cols = {"width": [1.0, 2.0, 3.5], "height": [4.0, 5.0, 6.0], "depth": [0.5, 0.25, 0.125], "label": ["b", "a", "b"]}
    pq.write_table(pa.table(cols), tmp / "measurements.parquet")
    return True, {"features": np.array([cols["width"], cols["height"], cols["depth"]], np.float32).T,
                  "target": np.array([1, 0, 1])}


def ref_json_table(tmp):
    records = [{"city": c, "area": float(a), "price": float(p)} for c, a, p in HOUSES]
    (tmp / "houses.json").write_text(json.dumps(records), encoding="utf-8")
    return False, {"features": np.array([[float(a)] for _, a, _ in HOUSES], np.float32),
                   "target": np.array([float(p) for *_, p in HOUSES], np.float32)}


def ref_arrays(tmp):
    x, y = np.arange(12, dtype=np.float32).reshape(4, 3), np.array([0, 1, 1, 0])
    np.savez(tmp / "dataset.npz", x=x, y=y)
    return True, {"features": x, "target": y}


def ref_image_folder(tmp):
    from PIL import Image

    want, target = [], []
    for k, name in enumerate(["cat", "dog"]):
        (tmp / "images" / "train" / name).mkdir(parents=True)
        for i in range(2):
            rgb = (10 * k + i, 100 + k, 200 - 3 * i)
            Image.new("RGB", (64, 64), rgb).save(tmp / "images" / "train" / name / f"{i}.png")
            want.append(np.broadcast_to(np.array(rgb, np.uint8)[:, None, None], (3, 64, 64)))  # decoded lazily, uint8
            target.append(k)
    return True, {"image": np.stack(want), "target": np.array(target)}


def ref_shards(tmp):  # WebDataset tar shards written by hand: <key>.png + <key>.cls members
    import io
    import tarfile

    from PIL import Image

    want, target = [], []
    (tmp / "shards").mkdir()
    for s in range(2):
        with tarfile.open(tmp / "shards" / f"train-{s:06d}.tar", "w") as tar:
            for i in range(3):
                rgb, k = (40 * s + i, 90, 250 - 7 * i), (s + i) % 2
                buf = io.BytesIO()
                Image.new("RGB", (32, 32), rgb).save(buf, "PNG")
                for name, data in ((f"{s}{i:05d}.png", buf.getvalue()), (f"{s}{i:05d}.cls", str(k).encode())):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                want.append(np.broadcast_to(np.array(rgb, np.uint8)[:, None, None], (3, 32, 32)))
                target.append(k)
    return True, {"image": np.stack(want), "target": np.array(target)}


TEXT = "".join(f"line {i}: the quick brown fox jumps over the lazy dog.\n" for i in range(8))


def ref_text(tmp):
    (tmp / "corpus.txt").write_text(TEXT, encoding="utf-8")
    vocab = ["<pad>", "<unk>"] + sorted(set(TEXT))
    ids = np.array([vocab.index(c) for c in TEXT])
    starts = range(0, len(ids) - 129 + 1, 128)
    return False, {"tokens": np.stack([ids[s:s + 128] for s in starts]), "next": np.stack([ids[s + 1:s + 129] for s in starts])}


REVIEWS = [{"ids": [3, 4, 5], "label": 1}, {"ids": [6], "label": 0}, {"ids": [7, 8], "label": 1}]


def ref_jsonl(tmp):
    (tmp / "reviews.jsonl").write_text("".join(json.dumps(r) + "\n" for r in REVIEWS), encoding="utf-8")
    return True, {"target": np.array([r["label"] for r in REVIEWS]), "ragged:tokens": [r["ids"] for r in REVIEWS]}


def ref_generated(tmp):  # the moons rule: two interleaved half circles plus N(0, noise²)
    rng = np.random.default_rng(0)
    t, y = rng.uniform(0, np.pi, size=1000), rng.integers(0, 2, size=1000)
    x = np.stack([np.cos(t) + y, np.sin(t) * (1 - 2 * y) + y * 0.5], 1) + rng.normal(0, 0.2, (1000, 2))
    return True, {"features": x.astype(np.float32), "target": y}


def ref_stdlib_text(tmp):  # the corpus starts with argparse's module docstring, in the fixed ASCII vocabulary
    return False, {"text:tokens": argparse.__doc__.strip()[:128]}


def ref_sequence_task(tmp):
    return False, {"rule:reverse": None}


def ref_shapes(tmp):
    return True, {"rule:shapes": None}


def ref_graphs(tmp):
    return True, {"rule:graphs": None}


#: tag -> (folder -> (classify, expected fields)); file sources write the files their EXAMPLE names
REFERENCE = {
    "sklearn": ref_sklearn, "csv": ref_csv, "parquet": ref_parquet, "json_table": ref_json_table, "arrays": ref_arrays,
    "image_folder": ref_image_folder, "shards": ref_shards, "text": ref_text, "jsonl": ref_jsonl, "generated": ref_generated,
    "stdlib_text": ref_stdlib_text, "sequence_task": ref_sequence_task, "shapes": ref_shapes, "graphs": ref_graphs,
}
TAGS = SOURCES.tags()


def from_example(tag: str):
    data, _ = load_text(SOURCES.get(tag).EXAMPLE)
    return ADAPTER.validate_python(data)


def check_rule(rule: str, source, table) -> None:
    f = table.fields
    if rule == "reverse":  # tgt_out is the source digits reversed then <eos>; tgt_in is <sos> then the same
        assert len(f["src"]) == source.num_samples
        for src, n, tin, tout in zip(f["src"], f["src_lengths"], f["tgt_in"], f["tgt_out"]):
            assert source.min_len <= n <= source.max_len and (src[n:] == 0).all()
            assert tout[:n].tolist() == src[:n][::-1].tolist() and tout[n] == 2
            assert tin[0] == 1 and tin[1:n + 1].tolist() == tout[:n].tolist()
    elif rule == "shapes":
        size = source.size
        assert f["image"].shape == (source.num_samples, 1, size, size) and f["mask"].shape == (source.num_samples, size, size)
        assert 0 <= f["image"].min() and f["image"].max() <= 1 and set(np.unique(f["mask"])) <= {0, 1, 2, 3}
        assert f["image"][:, 0][f["mask"] > 0].mean() > f["image"][:, 0][f["mask"] == 0].mean() + 0.4
    elif rule == "graphs":  # adjacency is D^-1/2 (A + I) D^-1/2 of a symmetric 0/1 A
        adj = f["adjacency"]
        assert adj.shape == (source.num_samples, source.num_nodes, source.num_nodes)
        a = (adj > 0).astype(np.float64)
        d = 1 / np.sqrt(a.sum(2))
        np.testing.assert_allclose(adj, a * d[:, :, None] * d[:, None, :], rtol=1e-6)
        assert (np.diagonal(a, axis1=1, axis2=2) == 1).all() and (a == a.transpose(0, 2, 1)).all()
        y = f["target"]
        assert f["features"].shape == (source.num_samples, source.num_nodes, source.num_features)
        got = np.take_along_axis(f["features"], y[..., None], 2)[..., 0]
        assert got.mean() > f["features"].mean() + 0.5 * source.signal  # the community's indicator feature
    else:
        raise AssertionError(f"no rule {rule!r}")


def test_every_source_has_a_reference():
    assert set(REFERENCE) == set(TAGS)


@pytest.mark.parametrize("tag", TAGS)
def test_example_reads_the_reference(tag, tmp_path):
    source = from_example(tag)
    assert source.type == tag and type(source) is SOURCES.get(tag)
    classify, want = REFERENCE[tag](tmp_path)
    table = source.read(tmp_path, classify, PATH)
    for key, value in want.items():
        if key.startswith("rule:"):
            check_rule(key[5:], source, table)
        elif key.startswith("text:"):
            ids = table.fields[key[5:]]
            assert "".join(table.vocab[i] for i in ids.reshape(-1)[: len(value)]) == value
        elif key.startswith("ragged:"):
            assert [list(r) for r in table.ragged[key[7:]]] == value
        else:
            got = table.fields[key]
            assert got.shape == np.shape(value) and got.dtype.kind == np.asarray(value).dtype.kind
            np.testing.assert_allclose(got, value, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("tag", TAGS)
def test_same_example_same_data(tag, tmp_path):
    REFERENCE[tag](tmp_path)
    a, b = (from_example(tag).read(tmp_path, True, PATH) for _ in range(2))
    assert a.fields.keys() == b.fields.keys() and all(np.array_equal(a.fields[k], b.fields[k]) for k in a.fields)


@pytest.mark.parametrize("tag", [t for t in TAGS if "path" in SOURCES.get(t).model_fields])
def test_missing_file_is_a_located_error(tag, tmp_path):
    source = from_example(tag).model_copy(update={"path": "nope"})
    with pytest.raises(DataError) as err:
        source.read(tmp_path, True, PATH)
    assert err.value.path == PATH + ("path",)


def test_json_table_columns_by_name_and_bad_records(tmp_path):
    from netspec.data.faults import Faults

    records = [{"y": "b", "x": 1, "z": 2.5}, {"x": 3, "z": -1, "y": "a"}, {"x": 5, "y": "b"}, [1, 2]]
    (tmp_path / "t.json").write_text(json.dumps(records), encoding="utf-8")
    source = ADAPTER.validate_python({"type": "json_table", "path": "t.json", "features": ["z", "x"], "target": "y"})
    with pytest.raises(DataError, match=r"t.json, record 3: keys \['x', 'y'\] differ"):
        source.read(tmp_path, True, PATH)
    skip = Faults()
    skip.skip, skip.max_fraction = True, 0.6
    table = source.read(tmp_path, True, PATH, skip)
    assert table.fields["features"].tolist() == [[2.5, 1.0], [-1.0, 3.0]] and table.feature_names == ["z", "x"]
    assert table.fields["target"].tolist() == [1, 0] and table.classes == ["a", "b"]
    assert table.origin.describe(1).endswith("t.json, record 2")
    (tmp_path / "t.json").write_text('{"x": 1}', encoding="utf-8")
    with pytest.raises(DataError, match="holds a JSON dict, not a list of records"):
        source.read(tmp_path, True, PATH)


def test_unknown_tag_raises():
    with pytest.raises(UnknownComponent, match="did you mean 'csv'"):
        SOURCES.get("cvs")
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"type": "no_such_source"})
    from netspec.data.sources import load_source

    class Stray:
        type = "cvs"

    with pytest.raises(UnknownComponent, match="unknown source 'cvs'"):
        load_source(Stray(), Path("."), True)
