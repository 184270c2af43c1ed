"""WebDataset tar shards: `netspec data shards` writes them from an image folder, the `shards` source
reads them map-style (a per-shard index cached beside them, a sample read by seeking into its tar),
and a 2-process run reads disjoint samples on each rank, trains the one-process weights and resumes
after kill -9 mid-epoch. References: Pillow decoding by hand, the image folder source, the
webdataset package (when installed), the one-process run."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT
from fuzz_specs import run_cli_in_process
from netspec.data import shards as sh
from netspec.data.shard_writer import write_shards
from netspec.errors import DataError
from netspec.sources import SOURCES

PATH = ("data", "source")
CLASSES = ["ant", "bee", "cat"]


def make_folder(root: Path, per_class: int = 4, size=(8, 8), seed: int = 0) -> list[Path]:
    """Small random images, JPEG and PNG alternating, one sub-folder per class."""
    rng = np.random.default_rng(seed)
    files = []
    for k, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = (rng.integers(0, 256, size + (3,)) * 0.5 + 40 * k).astype(np.uint8)
            f = root / name / f"{i:03d}.{'jpg' if i % 2 else 'png'}"
            Image.fromarray(pixels).save(f)
            files.append(f)
    return files


def source(**keys):
    return SOURCES.get("shards")(**{"type": "shards", **keys})


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def png(value: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (value, value, value)).save(buf, "PNG")
    return buf.getvalue()


def hand_shard(file: Path, samples: list[tuple[str, dict[str, bytes]]]) -> Path:
    with tarfile.open(file, "w") as tar:
        for key, members in samples:
            for ext, data in members.items():
                add(tar, f"{key}.{ext}", data)
    return file


def test_brace_and_glob_patterns(tmp_path):
    assert sh.expand_braces("t-{000..002}.tar") == ["t-000.tar", "t-001.tar", "t-002.tar"]
    assert sh.expand_braces("{a,b}-{8..10}") == ["a-8", "a-9", "a-10", "b-8", "b-9", "b-10"]
    for name in ("t-000.tar", "t-001.tar", "t-002.tar", "u-000.tar"):
        (tmp_path / name).write_bytes(b"")
    assert [f.name for f in sh.shard_files("t-{002..000}.tar", tmp_path)] == []  # a descending range is empty
    assert [f.name for f in sh.shard_files("t-{000..003}.tar", tmp_path)] == ["t-000.tar", "t-001.tar", "t-002.tar"]
    assert [f.name for f in sh.shard_files("{u,t}-*.tar", tmp_path)] == ["u-000.tar", "t-000.tar", "t-001.tar", "t-002.tar"]


def test_cli_converts_an_image_folder_and_says_what_it_wrote(tmp_path):
    files = make_folder(tmp_path / "images", per_class=4)
    code, out, err, _ = run_cli_in_process(["data", "shards", str(tmp_path / "images"), str(tmp_path / "sh"),
                                            "--shard-size", "5"])
    assert code == 0, err
    shards = sorted((tmp_path / "sh").glob("shard-*.tar"))
    assert [s.name for s in shards] == [f"shard-{i:06d}.tar" for i in range(3)]
    written = sum(s.stat().st_size for s in shards)
    assert f"wrote 3 shards, 12 samples, 0.0 MiB ({written:,} bytes), 3 classes (ant, bee, cat)" in out
    assert "shard-{000000..000002}.tar" in out
    assert "writing 12 images into 3 shards: 12 images in" in err  # the progress line's closing line
    assert (tmp_path / "sh" / "classes.txt").read_text() == "ant\nbee\ncat\n"
    with tarfile.open(shards[0]) as tar:
        names = tar.getnames()
        assert names[:4] == ["000000.png", "000000.cls", "000001.jpg", "000001.cls"] and len(names) == 10
        assert tar.extractfile("000001.jpg").read() == files[1].read_bytes()  # the file's bytes, not re-encoded
        assert tar.extractfile("000004.cls").read() == b"1"  # sample 4: bee's first image
    code, _, err, _ = run_cli_in_process(["data", "shards", str(tmp_path / "images"), str(tmp_path / "sh")])
    assert code == 1 and "already holds shard-*.tar shards" in err and "Traceback" not in err


def test_webdataset_reads_our_shards(tmp_path):
    wds = pytest.importorskip("webdataset")
    files = make_folder(tmp_path / "images", per_class=3)
    write_shards(tmp_path / "images", tmp_path / "sh", 4)
    pattern = str(tmp_path / "sh" / "shard-{000000..000002}.tar")
    got = list(wds.WebDataset(pattern, shardshuffle=False))
    assert [s["__key__"] for s in got] == [f"{i:06d}" for i in range(9)]
    assert [int(s["cls"]) for s in got] == [k for k in range(3) for _ in range(3)]
    assert [s.get("jpg", s.get("png")) for s in got] == [f.read_bytes() for f in files]


def test_map_style_reads_equal_the_source_images(tmp_path):
    files = make_folder(tmp_path / "images", per_class=5)
    write_shards(tmp_path / "images", tmp_path / "sh", 4)
    table = source(path="sh/shard-*.tar").read(tmp_path, True, PATH)
    folder = SOURCES.get("image_folder")(type="image_folder", path="images").read(tmp_path, True, PATH)
    images = table.fields["image"]
    assert images.shape == (15, 3, 8, 8) and images.dtype == np.uint8 and table.classes == CLASSES
    assert table.fields["target"].tolist() == folder.fields["target"].tolist() == [k for k in range(3) for _ in range(5)]
    order = np.array([14, 0, 7, 3, 3, 11])  # any order, across shards, repeats
    want = np.stack([np.asarray(Image.open(files[i]).convert("RGB")).transpose(2, 0, 1) for i in order])
    np.testing.assert_array_equal(images[order], want)
    np.testing.assert_array_equal(images[order], folder.fields["image"][order])
    # a split view read by two DataLoader workers at once, forked after this process opened the shards
    # (each worker reads with its own descriptors, no shared file position)
    from netspec.data.batches import read_in_workers

    pick = np.random.default_rng(1).permutation(15)
    view = images.select(pick)
    rows = np.concatenate([r for _, r, _ in read_in_workers(view, workers=2, skip=False, chunk=2)])
    by_hand = [np.asarray(Image.open(files[i]).convert("RGB")).transpose(2, 0, 1) for i in pick]
    np.testing.assert_array_equal(rows, np.stack(by_hand))
    resized = source(path="sh/shard-{000000..000003}.tar", size=[4, 6], channels=1).read(tmp_path, True, PATH)
    assert resized.fields["image"][np.array([0])].shape == (1, 1, 4, 6)


def test_the_index_is_cached_beside_the_shards_and_rebuilt_when_a_shard_changes(tmp_path, monkeypatch):
    make_folder(tmp_path / "images", per_class=2)
    write_shards(tmp_path / "images", tmp_path / "sh", 4)
    src = source(path="sh/shard-{000000..000001}.tar")
    first = src.read(tmp_path, True, PATH)
    cached = sorted((tmp_path / "sh" / ".netspec-cache").glob("shard-*.json"))
    assert len(cached) == 2
    scanned = []
    real = sh.scan_shard
    monkeypatch.setattr(sh, "scan_shard", lambda f, *a: scanned.append(Path(f).name) or real(f, *a))
    again = src.read(tmp_path, True, PATH)
    assert scanned == []  # both indices came from the cache
    np.testing.assert_array_equal(again.fields["image"][np.arange(6)], first.fields["image"][np.arange(6)])
    shard = tmp_path / "sh" / "shard-000001.tar"
    hand_shard(shard, [("x1", {"png": png(9), "cls": b"2"}), ("x2", {"png": png(99), "cls": b"0"})])
    changed = source(path="sh/shard-{000000..000001}.tar", size=[8, 8]).read(tmp_path, True, PATH)
    assert scanned == ["shard-000001.tar"]  # only the changed shard was read again
    assert changed.fields["target"].tolist() == [0, 0, 1, 1, 2, 0]
    assert changed.fields["image"][np.array([5])].max() == 99


def test_a_pattern_matching_nothing_is_a_located_error(tmp_path, write_spec):
    with pytest.raises(DataError, match=r"no shards match 'sh/train-\{0..3\}.tar'") as err:
        source(path="sh/train-{0..3}.tar").read(tmp_path, True, PATH)
    assert err.value.path == PATH + ("path",) and "brace pattern" in err.value.hint
    spec = write_spec(SPEC.replace("SHARDS", "nowhere/shard-*.tar"))
    code, _, err_text, _ = run_cli_in_process(["train", str(spec), "--out", str(spec.parent / "run")])
    assert code == 1 and f"{spec}:12:32: data.source.path: no shards match 'nowhere/shard-*.tar'" in err_text, err_text
    assert "Traceback" not in err_text


def test_a_shard_that_is_not_a_tar_is_a_located_error(tmp_path):
    (tmp_path / "a-0.tar").write_bytes(b"this is not a tar file\n" * 40)
    with pytest.raises(DataError, match=r"a-0.tar is not an uncompressed tar file") as err:
        source(path="a-*.tar").read(tmp_path, True, PATH)
    assert err.value.path == PATH + ("path",) and "WebDataset" in err.value.hint
    hand_shard(tmp_path / "plain.tar", [("k", {"png": png(1), "cls": b"0"})])
    (tmp_path / "b-0.tar").write_bytes(gzip.compress((tmp_path / "plain.tar").read_bytes()))  # a .tar.gz named .tar
    with pytest.raises(DataError, match=r"b-0.tar is not an uncompressed tar file"):
        source(path="b-0.tar").read(tmp_path, True, PATH)


def test_a_sample_missing_its_label_is_located_or_skipped(tmp_path):
    from netspec.data.faults import Faults

    hand_shard(tmp_path / "s-0.tar", [("a", {"png": png(1), "cls": b"0"}), ("b", {"png": png(2)}),
                                      ("c", {"png": png(3), "cls": b"1"})])
    with pytest.raises(DataError, match=r"s-0.tar: sample 'b' has no 'cls' label member \(members: png\)") as err:
        source(path="s-0.tar").read(tmp_path, True, PATH)
    assert err.value.path == PATH + ("path",) and "<key>.cls" in err.value.hint
    skip = Faults()
    skip.skip, skip.max_fraction = True, 0.5
    table = source(path="s-0.tar").read(tmp_path, True, PATH, skip)
    assert table.fields["target"].tolist() == [0, 1] and table.fields["image"][np.array([1])].max() == 3
    assert skip.summary() == {str(tmp_path / "s-0.tar"): {"missing label": 1}}
    # the label in another member
    hand_shard(tmp_path / "t-0.tar", [("a", {"png": png(1), "txt": b"bee"}), ("b", {"png": png(2), "txt": b"ant"})])
    named = source(path="t-0.tar", label="txt").read(tmp_path, True, PATH)
    assert named.classes == ["ant", "bee"] and named.fields["target"].tolist() == [1, 0]


def test_inconsistent_labels_are_located_errors(tmp_path):
    hand_shard(tmp_path / "m-0.tar", [("a", {"png": png(1), "cls": b"0"}), ("b", {"png": png(2), "cls": b"bee"})])
    with pytest.raises(DataError, match=r"inconsistent labels: .*m-0.tar: sample 'a' has the class index '0', but "
                                        r".*m-0.tar: sample 'b' has the class name 'bee'") as err:
        source(path="m-0.tar").read(tmp_path, True, PATH)
    assert err.value.path == PATH + ("label",)
    (tmp_path / "o").mkdir()
    hand_shard(tmp_path / "o" / "x.tar", [("a", {"png": png(1), "cls": b"0"}), ("b", {"png": png(2), "cls": b"2"})])
    (tmp_path / "o" / "classes.txt").write_text("ant\nbee\n")
    with pytest.raises(DataError, match=r"sample 'b' has class index 2, outside the 2 classes of .*classes.txt") as err:
        source(path="o/x.tar").read(tmp_path, True, PATH)
    assert err.value.path == PATH + ("label",)
    # regression: the label member holds a number
    hand_shard(tmp_path / "r.tar", [("a", {"png": png(1), "cls": b"0.25"}), ("b", {"png": png(2), "cls": b"-3"})])
    assert source(path="r.tar").read(tmp_path, False, PATH).fields["target"].tolist() == [0.25, -3.0]
    with pytest.raises(DataError, match=r"sample 'b': label 'bee' is not a number") as err:
        source(path="m-0.tar").read(tmp_path, False, PATH)
    assert err.value.path == PATH + ("label",)


def test_an_image_failing_mid_epoch_names_its_shard_and_sample(tmp_path):
    make_folder(tmp_path / "images", per_class=2, size=(16, 16))
    write_shards(tmp_path / "images", tmp_path / "sh", 10)
    images = source(path="sh/shard-000000.tar").read(tmp_path, True, PATH).fields["image"]
    shard = tmp_path / "sh" / "shard-000000.tar"
    blob = bytearray(shard.read_bytes())
    start, size = int(images.offsets[3]), int(images.sizes[3])
    blob[start + size // 2: start + size] = b"\0" * (size - size // 2)  # the JPEG's header intact, its data gone
    shard.write_bytes(bytes(blob))
    rows, faults = images.read(np.array([2, 3, 4]), skip=True)
    assert [pos for pos, _ in faults] == [1] and rows[0].any() and rows[2].any()
    assert faults[0][1].where == f"{shard}: sample '000003'" and faults[0][1].reason == "unreadable image"


SPEC = """\
netspec: 1
name: shards-cnn
inputs:
  image: {shape: [3, 8, 8]}
model:
  layers:
    - {conv2d: {out_channels: 4, kernel_size: 3, padding: 1, activation: relu}}
    - max_pool2d: {kernel_size: 2}
    - flatten
    - {name: logits, linear: {out_features: 3}}
data:
  source: {type: shards, path: 'SHARDS'}
  split: {val: 0.2, stratify: true, seed: 0}
  preprocess: {image: {normalize: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}}}
  loader: {num_workers: 1}
train:
  epochs: 2
  batch_size: 4
  eval_batch_size: 8
  optimizer: {type: adam, lr: 0.01}
  seed: 2
"""


def passes(log: Path) -> dict[int, list[list[int]]]:
    """rank -> the sample lists its read passes read, in order: every pass (an epoch's train or val
    split) runs in a fresh DataLoader worker, so a pass is the reads of one process id."""
    by: dict[tuple[int, int], list[int]] = {}
    for line in log.read_text().splitlines():
        row = json.loads(line)
        by.setdefault((row["rank"], row["pid"]), []).extend(row["rows"])
    out: dict[int, list[list[int]]] = {}
    for (rank, _pid), rows in by.items():
        out.setdefault(rank, []).append(rows)
    return out


def check_disjoint(ranks: dict[int, list[list[int]]], n_passes: int, sizes: tuple[int, int]) -> None:
    """Pass j of rank 0 and of rank 1 read disjoint samples that together are the whole split, once."""
    assert set(ranks) == {0, 1} and len(ranks[0]) >= n_passes and len(ranks[1]) >= n_passes
    for j in range(n_passes):
        a, b = ranks[0][j], ranks[1][j]
        assert len(set(a)) == len(a) and len(set(b)) == len(b), f"pass {j}: a sample read twice on one rank"
        assert not set(a) & set(b), f"pass {j}: ranks read the same samples {sorted(set(a) & set(b))[:5]}"
        assert len(a) + len(b) == sizes[j % 2], f"pass {j}: {len(a)} + {len(b)} samples"
        assert abs(len(a) - len(b)) <= 4


def _state(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (ranks and their DataLoader workers), from /proc."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, todo = [], [pid]
    while todo:
        up = todo.pop()
        kids = [p for p, pp in parent.items() if pp == up]
        out += kids
        todo += kids
    return out


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The spec on 120 images in 8 shards, trained in this process: (spec file, run directory)."""
    from netspec.train.api import train_spec

    root = tmp_path_factory.mktemp("dist")
    make_folder(root / "images", per_class=40)
    write_shards(root / "images", root / "sh", 16)
    spec = root / "spec.yaml"
    spec.write_text(SPEC.replace("SHARDS", "sh/shard-{000000..000007}.tar"), encoding="utf-8")
    return spec, Path(train_spec(spec, out=root / "single").run_dir)


def test_one_process_stopped_mid_epoch_resumes_bit_exact(one_process, tmp_path):
    """SIGTERM in epoch 2 saves the position inside the epoch; --resume reads the rest of the epoch's
    shard samples in the same order and ends with the uninterrupted run's weights, bit for bit."""
    from netspec.checkpoint import load_checkpoint
    from netspec.errors import Interrupted
    from netspec.train import signals
    from netspec.train.api import train_spec

    spec, single = one_process

    class StopInEpoch2:
        def start(self, *a):
            pass

        def epoch(self, row):
            pass

        def batch(self, epoch, index, samples):
            if epoch == 2 and index == 9:
                signals.STOP.signum = signal.SIGTERM

    with signals.graceful_stop(), pytest.raises(Interrupted):
        train_spec(spec, out=tmp_path / "run", reporter=StopInEpoch2())
    assert load_checkpoint(tmp_path / "run" / "last.pt")["position"]["batches"] == 10
    train_spec(spec, resume=tmp_path / "run")
    a, b = (load_checkpoint(d / "last.pt")["models"]["model"] for d in (tmp_path / "run", single))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def dist_run(one_process):
    """The one-process spec on 2 processes, killed with SIGKILL (launcher, ranks and workers at once) in
    epoch 2 of 2, then resumed on 2 processes."""
    spec, single = one_process
    root = spec.parent
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NETSPEC_SHARD_READ_LOG": str(root / "killed.log")}
    env.pop("NETSPEC_DEBUG", None)
    run = root / "run"
    proc = subprocess.Popen([sys.executable, "-m", "netspec", "train", str(spec), "--nproc-per-node", "2", "--out",
                             str(run), "--quiet"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline, log = time.time() + 200, root / "killed.log"
    while time.time() < deadline and proc.poll() is None:  # rank 0 has started its third pass: epoch 2's train split
        if log.is_file() and len(passes(log).get(0, [])) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    tree = [proc.pid] + descendants(proc.pid)  # the agent starts the ranks in sessions of their own
    for pid in tree:
        os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=60)
    while any(Path(f"/proc/{p}").exists() and _state(p) not in ("Z", "X") for p in tree[1:]) and time.time() < deadline:
        time.sleep(0.05)
    from netspec.checkpoint import load_checkpoint

    killed_at = load_checkpoint(run / "last.pt")["epoch"]
    env["NETSPEC_SHARD_READ_LOG"] = str(root / "resumed.log")
    resumed = subprocess.run([sys.executable, "-m", "netspec", "train", str(spec), "--nproc-per-node", "2", "--resume",
                              str(run), "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return {"single": single, "run": run, "killed_at": killed_at, "resumed": resumed,
            "killed_log": root / "killed.log", "resumed_log": root / "resumed.log"}


def test_two_processes_read_disjoint_samples(dist_run):
    assert dist_run["resumed"].returncode == 0, dist_run["resumed"].stderr[-3000:]
    killed, resumed = passes(dist_run["killed_log"]), passes(dist_run["resumed_log"])
    check_disjoint(killed, 2, (96, 24))  # epoch 1: train, val
    check_disjoint(resumed, 2, (96, 24))  # epoch 2 again from its start: train, val
    train = [set(p[0][0]) | set(p[1][0]) for p in (killed, resumed)]
    val = [set(p[0][1]) | set(p[1][1]) for p in (killed, resumed)]
    assert train[0] == train[1] and val[0] == val[1] and train[0] | val[0] == set(range(120))
    assert killed[0][0] != resumed[0][0]  # a new order in epoch 2
    begun = killed[0][2]  # what rank 0 had read of epoch 2 when it was killed
    assert 0 < len(begun) < 48 and resumed[0][0][:len(begun)] == begun  # replayed in the same order


def test_two_processes_killed_mid_epoch_resume_to_the_one_process_weights(dist_run):
    from netspec.checkpoint import load_checkpoint

    assert dist_run["killed_at"] == 1  # killed in epoch 2, after epoch 1's checkpoint
    assert dist_run["resumed"].returncode == 0, dist_run["resumed"].stderr[-3000:]
    a = load_checkpoint(dist_run["run"] / "last.pt")
    b = load_checkpoint(dist_run["single"] / "last.pt")
    assert a["epoch"] == b["epoch"] == 2
    wa, wb = a["models"]["model"], b["models"]["model"]
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=1e-5, rtol=0, msg=f"weights differ at {k}")
    rows = [json.loads(line) for line in (dist_run["run"] / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]


def test_a_bug_behind_data_shards_is_exit_3_without_a_traceback(monkeypatch, tmp_path):
    import netspec.data.shard_writer

    def boom(*a, **k):
        raise RuntimeError("boom in write_shards")

    monkeypatch.setattr(netspec.data.shard_writer, "write_shards", boom)
    monkeypatch.delenv("NETSPEC_DEBUG", raising=False)
    code, _, err, _ = run_cli_in_process(["data", "shards", str(tmp_path), str(tmp_path / "out")])
    assert code == 3 and err.startswith("netspec: internal error: RuntimeError: boom in write_shards"), err
    assert "Traceback" not in err
