"""Peak memory of training an epoch from a CSV or Parquet file, streamed vs read whole, N vs 4N rows.

Generates a table of N rows x 16 columns (15 float features, an integer class label in 0..3) as CSV
and as Parquet, writes an MLP spec (15 -> 64 -> 4) reading it with `stream: true` (record batches
into the column cache, statistics in a streaming pass, rows read batch by batch) or `stream: false`
(read whole, today's path: on_device auto puts it in memory), and runs `netspec train` for one epoch
in a subprocess while sampling its memory every 0.1 s (RSS and PSS of the process and any children).
The column cache is deleted before each streamed run, so its build is part of what is measured.
Prints one line per (format, mode, rows) and the 4N / N ratios: streamed memory must not grow with
the rows (beyond the epoch's order and the split indices, a few bytes a row).

    python bench/data_columnar.py --rows 500000 2000000 [--in-memory-rows 250000 1000000]
        [--formats csv parquet] [--workdir /tmp/netspec-columnar]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

COLUMNS = 15

SPEC = """netspec: 1
name: columnar_mlp
inputs:
  features: {{shape: [{width}]}}
model:
  layers:
    - {{linear: {{out_features: 64}}}}
    - relu
    - {{name: out, linear: {{out_features: 4}}}}
  outputs: [out]
data:
  source: {{type: {kind}, path: {file}, target: label, stream: {stream}}}
  split: {{val: 0.02, seed: 0}}
  preprocess: {{features: {{type: standardize}}}}
train:
  epochs: 1
  batch_size: 256
  eval_batch_size: 256
  optimizer: {{type: adam, lr: 1.0e-3}}
  loss: cross_entropy
"""


def make_table(workdir: Path, n: int, kind: str, seed: int = 0) -> Path:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    file = workdir / f"table{n}.{kind}"
    if file.exists():
        return file
    rng = np.random.default_rng(seed)
    chunk, tmp = 250_000, file.with_suffix(".tmp")
    writer = None
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        x = rng.normal(size=(m, COLUMNS)).round(5)
        label = ((x[:, 0] > 0).astype(np.int64) + (x[:, 1] + x[:, 2] > 0.5)).astype(np.int64) + (x[:, 3] > 1.5)
        table = pa.table({**{f"f{j}": x[:, j] for j in range(COLUMNS)}, "label": label})
        if kind == "csv":
            if writer is None:
                writer = pacsv.CSVWriter(str(tmp), table.schema)
            writer.write_table(table)
        else:
            if writer is None:
                writer = pq.ParquetWriter(str(tmp), table.schema)
            writer.write_table(table, row_group_size=65536)
    if writer is not None:
        writer.close()
    tmp.rename(file)
    return file


def memory(proc) -> tuple[int, int]:
    """RSS and PSS of ``proc`` and its children (PSS: shared pages counted once, proportionally)."""
    import psutil

    rss = pss = 0
    try:
        for p in [proc] + proc.children(recursive=True):
            info = p.memory_full_info()
            rss, pss = rss + info.rss, pss + info.pss
    except psutil.Error:
        pass
    return rss, pss


def run(workdir: Path, kind: str, n: int, stream: bool) -> dict:
    import psutil

    file = make_table(workdir, n, kind)
    shutil.rmtree(workdir / ".netspec-cache", ignore_errors=True)
    spec = workdir / f"spec-{kind}-{n}-{stream}.yaml"
    spec.write_text(SPEC.format(width=COLUMNS, kind=kind, file=file.name, stream=str(stream).lower()))
    out = workdir / f"run-{kind}-{n}-{stream}"
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "netspec", "train", str(spec), "--out", str(out), "--overwrite"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ps = psutil.Process(proc.pid)
    peak_rss = peak_pss = 0
    while proc.poll() is None:
        rss, pss = memory(ps)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.1)
    log = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise SystemExit(f"netspec train failed ({proc.returncode}):\n{log[-3000:]}")
    return {"kind": kind, "rows": n, "mode": "streamed" if stream else "in memory", "wall_s": time.perf_counter() - start,
            "rss_mb": peak_rss / 2**20, "pss_mb": peak_pss / 2**20, "disk_mb": file.stat().st_size / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, nargs=2, default=[500_000, 2_000_000], help="N and 4N, streamed")
    ap.add_argument("--in-memory-rows", type=int, nargs="*", default=[250_000, 1_000_000],
                    help="sizes read whole, for contrast (none: skip)")
    ap.add_argument("--formats", nargs="+", default=["csv", "parquet"])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/netspec-columnar"))
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for kind in args.formats:
        for n in args.rows:
            results.append(run(args.workdir, kind, n, True))
            print(results[-1], flush=True)
        for n in args.in_memory_rows:
            results.append(run(args.workdir, kind, n, False))
            print(results[-1], flush=True)
    print(f"\n{'format':>8} {'mode':>10} {'rows':>11} {'on disk':>9} {'wall':>7} {'peak RSS':>10} {'peak PSS':>10}")
    for r in results:
        print(f"{r['kind']:>8} {r['mode']:>10} {r['rows']:>11,} {r['disk_mb']:>7.0f}MB {r['wall_s']:>6.0f}s "
              f"{r['rss_mb']:>8.0f}MB {r['pss_mb']:>8.0f}MB")
    for kind in args.formats:
        for mode in ("streamed", "in memory"):
            pair = [r for r in results if r["kind"] == kind and r["mode"] == mode]
            if len(pair) == 2:
                print(f"{kind} {mode}: peak PSS at {pair[1]['rows']:,} / at {pair[0]['rows']:,} rows: "
                      f"{pair[1]['pss_mb'] / pair[0]['pss_mb']:.2f} (RSS {pair[1]['rss_mb'] / pair[0]['rss_mb']:.2f})")


if __name__ == "__main__":
    main()
