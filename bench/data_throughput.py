"""netspec's data pipelines against hand-written PyTorch ones, interleaved in one run.

Images: a generated folder of 224x224 JPEGs (10 class folders) read for one shuffled epoch at
112x112 by (a) netspec, exactly as `netspec train` builds it (the spec's `image_folder` source,
`prepare_data` + `make_loaders`: decoded in the loader's workers, uint8 to the main process,
scaled and normalized there), with JPEG draft decoding on (the default) and off, and (b) a
hand-written `torch.utils.data.Dataset` + `DataLoader` (Pillow open, convert, the same bilinear
resize, to float and normalized in the worker, default collate, shuffle) with the same batch size
and number of workers. Printed per pipeline: images/s, time to the first batch, peak memory of the
process tree during the epoch (main + workers, PSS summed; median of the rounds), and the ratio to the hand-written one.

Tokens: netspec's token windows against a nanoGPT-style `np.memmap` sampler
(bench/throughput_tokens.py), when that part is present.

    python bench/data_throughput.py [--images 2000] [--rounds 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_memory import make_folder  # noqa: E402

SIZE = (112, 112)
MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]


class HandDataset(torch.utils.data.Dataset):
    """What one writes by hand: a file list, Pillow decode + resize, float and normalized per sample."""

    def __init__(self, folder: Path) -> None:
        classes = sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
        self.items = [(f, k) for k, c in enumerate(classes) for f in sorted((folder / c).iterdir())]
        self.mean = torch.tensor(MEAN)[:, None, None]
        self.std = torch.tensor(STD)[:, None, None]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        from PIL import Image

        file, label = self.items[i]
        with Image.open(file) as im:
            im = im.convert("RGB").resize((SIZE[1], SIZE[0]), Image.BILINEAR)
            x = torch.from_numpy(np.asarray(im, np.uint8).transpose(2, 0, 1).copy())
        return (x.float() / 255 - self.mean) / self.std, label


def hand_epoch(folder: Path, batch: int, workers: int):
    loader = torch.utils.data.DataLoader(HandDataset(folder), batch_size=batch, shuffle=True, num_workers=workers,
                                         generator=torch.Generator().manual_seed(0))
    for x, y in loader:
        yield x, y


def netspec_loader(folder: Path, batch: int, workers: int, draft: bool, tmp: Path):
    import yaml

    from netspec.check import check
    from netspec.data import make_loaders, prepare_data
    from netspec.train.session import resolve_plan

    spec = {"netspec": 1, "name": "pipe", "inputs": {"image": {"shape": [3, *SIZE]}},
            "model": {"layers": [{"flatten": {}}, {"name": "out", "linear": {"out_features": 10}}], "outputs": ["out"]},
            "data": {"source": {"type": "image_folder", "path": str(folder), "size": list(SIZE), "draft": draft},
                     "split": {"val": 0.0}, "preprocess": {"image": {"normalize": {"mean": MEAN, "std": STD}}},
                     "loader": {"on_device": False, "num_workers": workers}},
            "train": {"batch_size": batch, "loss": "cross_entropy"}}
    path = tmp / f"pipe_{draft}.yaml"
    path.write_text(yaml.safe_dump(spec))
    checked = check(path)
    bundle = prepare_data(checked.spec, resolve_plan(checked), checked.graph, path.parent)
    make_loaders(bundle, checked.spec.data, torch.device("cpu"), batch, batch)
    return bundle.loaders["train"]


def netspec_epoch(folder: Path, batch: int, workers: int, draft: bool, tmp: Path):
    loader = netspec_loader(folder, batch, workers, draft, tmp)
    for b in loader.epoch(torch.Generator().manual_seed(0)):
        yield b["image"], b["target"]


def pss(proc) -> int:
    try:
        return proc.memory_full_info().pss
    except AttributeError:  # no PSS on this platform: resident size (shared pages counted per process)
        return proc.memory_info().rss


class PeakRSS:
    """Samples the memory of this process and its children every 50 ms: the sum of their proportional
    set sizes (PSS: a page shared by k processes counts 1/k in each, so forked workers' shared pages
    are counted once)."""

    def __enter__(self):
        import psutil

        self.proc, self.peak, self.stop = psutil.Process(), 0, False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        import psutil

        while not self.stop:
            try:
                procs = [self.proc] + self.proc.children(recursive=True)
                self.peak = max(self.peak, sum(pss(p) for p in procs))
            except psutil.Error:
                pass
            time.sleep(0.05)

    def __exit__(self, *exc) -> None:
        self.stop = True
        self.thread.join()


def timed(epoch) -> dict:
    gc.collect()
    with PeakRSS() as mem:
        start = time.perf_counter()
        first, count = None, 0
        for x, _y in epoch:
            assert x.dtype == torch.float32 and tuple(x.shape[1:]) == (3, *SIZE)
            if first is None:
                first = time.perf_counter() - start
            count += len(x)
        took = time.perf_counter() - start
    return {"rate": count / took, "first": first, "peak": mem.peak / 2**20, "count": count}


def images(args) -> None:
    import tempfile

    folder = args.workdir / f"jpegs{args.images}"
    make_folder(folder, args.images)
    tmp = Path(tempfile.mkdtemp())
    sides = {"hand-written Dataset + DataLoader": lambda: hand_epoch(folder, args.batch, args.workers),
             "netspec (draft off)": lambda: netspec_epoch(folder, args.batch, args.workers, False, tmp),
             "netspec (default, draft on)": lambda: netspec_epoch(folder, args.batch, args.workers, True, tmp)}
    runs: dict[str, list[dict]] = {k: [] for k in sides}
    for name in sides:  # warm-up: imports and the page cache, so no side pays them in the measured rounds
        timed(sides[name]())
    for r in range(args.rounds):  # interleaved, the order alternating each round
        for name in (list(sides) if r % 2 == 0 else list(reversed(sides))):
            runs[name].append(timed(sides[name]()))
    hand = runs["hand-written Dataset + DataLoader"]
    print(f"images: {args.images} JPEGs 224x224 -> {SIZE[0]}x{SIZE[1]}, batch {args.batch}, {args.workers} workers, "
          f"{args.rounds} interleaved rounds, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print(f"{'pipeline':<36} {'images/s':>9} {'ratio (median)':>15} {'ratio (best)':>13} {'first batch':>12} {'peak PSS':>9}")
    for name, rs in runs.items():
        ratios = [a["rate"] / b["rate"] for a, b in zip(rs, hand)]
        print(f"{name:<36} {statistics.median(r['rate'] for r in rs):>9.0f} {statistics.median(ratios):>15.2f} "
              f"{max(r['rate'] for r in rs) / max(h['rate'] for h in hand):>13.2f} "
              f"{statistics.median(r['first'] for r in rs):>11.2f}s {statistics.median(r['peak'] for r in rs):>7.0f}MB")


def tokens(args) -> None:
    try:
        from throughput_tokens import compare
    except ImportError:
        print("tokens: bench/throughput_tokens.py is not here; skipped")
        return
    result = compare(args.workdir, tokens=args.tokens, seq_len=256, batch=64, rounds=args.rounds)
    print(f"tokens: {result}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--tokens", type=int, default=20_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/netspec-data-throughput"))
    ap.add_argument("--part", choices=["images", "tokens", "both"], default="both")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.part in ("images", "both"):
        images(args)
    if args.part in ("tokens", "both"):
        tokens(args)


if __name__ == "__main__":
    main()
