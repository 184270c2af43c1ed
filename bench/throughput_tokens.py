"""netspec's token windows against a nanoGPT-style np.memmap sampler, interleaved in one run.

A generated corpus (random words, one character per token) is tokenized once by netspec's `text`
source into its memory-mapped token file (uint16). Then, per round and in alternating order:

* netspec: the windows exactly as `netspec train` builds them (`prepare_data` + `make_loaders`,
  `on_device: false`, so the memory-mapped path): one shuffled epoch of `seq_len` windows, `tokens`
  and `next`, int64 tensors;
* nanoGPT (karpathy/nanoGPT train.py `get_batch`): `np.memmap` of the same file, random offsets
  from `torch.randint`, `torch.stack` of `torch.from_numpy(data[i:i+seq].astype(np.int64))` for x
  and y, the same number of batches of the same size;
* a vectorized memmap sampler (the same random offsets as nanoGPT, one NumPy fancy index for the
  whole batch, as netspec gathers it): the floor of what any memmap sampler costs, so the
  netspec / vectorized ratio is the loader's own overhead;
* with `--workers N`, also netspec's windows gathered by N DataLoader workers (the `cheap` marker
  turned off), to show why token windows are read in the main process.

Printed: samples/s of each (median over rounds), the ratio netspec / nanoGPT (the acceptance
figure) and netspec / vectorized.

    OMP_NUM_THREADS=1 python bench/throughput_tokens.py [--tokens 20000000] [--seq-len 256] [--batch 64] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

WORDS = ("the of and to in is was that for it with as his on be at by had are but from or have an they which one you "
         "were her all she there would their we him been has when who will more no if out so said what up its about "
         "into than them can only other new some could time these two may then do first any my now such like our over").split()


def make_corpus(folder: Path, tokens: int) -> Path:
    """About ``tokens`` characters of random words and newlines (one token per character)."""
    file = folder / f"corpus-{tokens}.txt"
    if file.exists() and file.stat().st_size >= tokens:
        return file
    rng = np.random.default_rng(0)
    words = np.asarray(WORDS)
    with open(file, "w", encoding="ascii") as fh:
        written = 0
        while written < tokens:
            line = " ".join(words[rng.integers(0, len(words), 12)]) + "\n"
            fh.write(line)
            written += len(line)
    return file


def netspec_loader(corpus: Path, seq_len: int, batch: int, workdir: Path):
    import yaml

    from netspec.check import check
    from netspec.data import make_loaders, prepare_data
    from netspec.train.session import resolve_plan

    spec = {"netspec": 1, "name": "tokens", "inputs": {"tokens": {"shape": ["seq"], "dtype": "int64"}},
            "model": {"layers": [{"name": "embed", "embedding": {"num_embeddings": 128, "embedding_dim": 8}},
                                 {"name": "logits", "linear": {"out_features": 128}}], "outputs": ["logits"]},
            "data": {"source": {"type": "text", "path": str(corpus), "seq_len": seq_len}, "split": {"val": 0.0},
                     "loader": {"on_device": False}},
            "train": {"program": {"type": "language_model"}, "batch_size": batch}}
    path = workdir / "tokens.yaml"
    path.write_text(yaml.safe_dump(spec))
    checked = check(path)
    bundle = prepare_data(checked.spec, resolve_plan(checked), checked.graph, path.parent)
    make_loaders(bundle, checked.spec.data, torch.device("cpu"), batch, batch)
    return bundle.loaders["train"]


def netspec_epoch(loader, seed: int):
    for b in loader.epoch(torch.Generator().manual_seed(seed)):
        yield b["tokens"], b["next"]


def nanogpt_epoch(file: Path, seq_len: int, batch: int, batches: int, seed: int):
    """karpathy/nanoGPT's get_batch: a fresh memmap per batch (its note: avoids a memory leak)."""
    torch.manual_seed(seed)
    for _ in range(batches):
        data = np.memmap(file, dtype=np.uint16, mode="r")
        ix = torch.randint(len(data) - seq_len, (batch,))
        x = torch.stack([torch.from_numpy((data[i:i + seq_len]).astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy((data[i + 1:i + 1 + seq_len]).astype(np.int64)) for i in ix])
        yield x, y


def vectorized_epoch(file: Path, seq_len: int, batch: int, batches: int, seed: int):
    data = np.memmap(file, dtype=np.uint16, mode="r")
    offsets = np.arange(seq_len)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(batches):
        ix = torch.randint(len(data) - seq_len, (batch,), generator=gen).numpy()[:, None] + offsets
        yield torch.from_numpy(data[ix].astype(np.int64)), torch.from_numpy(data[ix + 1].astype(np.int64))


def timed(epoch, seq_len: int) -> float:
    start, count = time.perf_counter(), 0
    for x, y in epoch:
        assert x.dtype == torch.int64 and x.shape[1] == seq_len and y.shape == x.shape
        count += len(x)
    return count / (time.perf_counter() - start)


def compare(workdir: Path, tokens: int = 20_000_000, seq_len: int = 256, batch: int = 64, rounds: int = 5,
            workers: int = 0) -> dict:
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    corpus = make_corpus(workdir, tokens)
    start = time.perf_counter()
    loader = netspec_loader(corpus, seq_len, batch, workdir)  # builds (or reuses) the token file
    prepared = time.perf_counter() - start
    field = loader.arrays["tokens"]
    file = field.base.corpus.file if hasattr(field, "base") else field.corpus.file
    slow = None
    if workers:
        slow = netspec_loader(corpus, seq_len, batch, workdir)
        slow.cheap, slow.num_workers = False, workers
    pipelines = {"netspec": lambda r: netspec_epoch(loader, r),
                 "nanogpt": lambda r: nanogpt_epoch(file, seq_len, batch, len(loader), r),
                 "memmap, vectorized": lambda r: vectorized_epoch(file, seq_len, batch, len(loader), r)}
    if slow is not None:
        pipelines[f"netspec, {workers} workers"] = lambda r: netspec_epoch(slow, r)
    rates: dict[str, list[float]] = {k: [] for k in pipelines}
    for epoch in pipelines.values():  # warm-up: page cache, first-use costs
        timed(epoch(99), seq_len)
    for r in range(rounds):
        names = list(pipelines) if r % 2 == 0 else list(reversed(pipelines))
        for name in names:
            rates[name].append(timed(pipelines[name](r), seq_len))
    med = {k: statistics.median(v) for k, v in rates.items()}
    out = {"tokens": int(field.base.corpus.count if hasattr(field, "base") else field.corpus.count), "seq_len": seq_len,
           "batch": batch, "batches_per_epoch": len(loader), "rounds": rounds, "prepare_s": round(prepared, 2),
           "samples_per_s": {k: round(v) for k, v in med.items()},
           "per_round": {k: [round(x) for x in v] for k, v in rates.items()},
           "ratio": round(med["netspec"] / med["nanogpt"], 3),
           "ratio_vectorized": round(med["netspec"] / med["memmap, vectorized"], 3)}
    if slow is not None:
        out["ratio_workers"] = round(med[f"netspec, {workers} workers"] / med["nanogpt"], 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, default=20_000_000)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=0, help="also time netspec's windows read by this many workers")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/netspec-throughput-tokens"))
    args = ap.parse_args()
    result = compare(args.workdir, args.tokens, args.seq_len, args.batch, args.rounds, args.workers)
    for name, rate in result["samples_per_s"].items():
        print(f"{name:<22} {rate:>10,} samples/s   rounds: {result['per_round'][name]}")
    print(f"ratio netspec / nanoGPT: {result['ratio']:.3f}   netspec / vectorized memmap: {result['ratio_vectorized']:.3f}"
          + (f"   (with workers: {result['ratio_workers']:.3f})" if "ratio_workers" in result else ""))
    print({k: v for k, v in result.items() if k not in ("samples_per_s", "per_round")})


if __name__ == "__main__":
    main()
