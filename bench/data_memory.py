"""Peak memory of training from an image folder larger than memory would allow eagerly.

Generates N random 224x224 JPEGs in 10 class folders (noise, ~40 KB each, like issue 13's
trial), writes a ResNet-18 spec at 1/8 width (8-16-32-64 channels, the layout of specs/resnet18.yaml)
reading the folder with `image_folder` (streamed: decoded in 2 loader workers), and runs
`netspec train` for one epoch while sampling the memory of the whole process tree (the
main process and its DataLoader workers: their proportional set sizes summed, so pages the forked
workers share count once). Prints one line per size: images, wall time, peak PSS of the tree and of
the main process. Memory should not grow with the number of images. (The evaluation batch is
64 like the training one: left at its default, 4 x batch_size, a larger validation split would
evaluate in larger batches, and the activations of those, not the data, would raise the peak.)

    python bench/data_memory.py --images 5000 20000 [--workdir /tmp/netspec-mem]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SPEC = """netspec: 1
name: resnet18_eighth
inputs:
  image: {{shape: [3, 224, 224]}}
model:
  layers:
    - {{name: conv1, conv2d: {{out_channels: 8, kernel_size: 7, stride: 2, padding: 3, bias: false}}}}
    - {{name: bn1, batch_norm2d: {{}}}}
    - {{name: relu, relu: {{}}}}
    - {{name: maxpool, max_pool2d: {{kernel_size: 3, stride: 2, padding: 1}}}}
    - {{name: layer1, basic_block: {{out: 8}}, repeat: 2}}
    - {{name: layer2, basic_block: {{out: 16}}, repeat: {{count: 2, first: {{stride: 2}}}}}}
    - {{name: layer3, basic_block: {{out: 32}}, repeat: {{count: 2, first: {{stride: 2}}}}}}
    - {{name: layer4, basic_block: {{out: 64}}, repeat: {{count: 2, first: {{stride: 2}}}}}}
    - {{name: avgpool, adaptive_avg_pool2d: {{output_size: 1}}}}
    - {{name: flatten, flatten: {{}}}}
    - {{name: fc, linear: {{out_features: 10}}}}
  outputs: [fc]
data:
  source: {{type: image_folder, path: {folder}, size: [224, 224], channels: 3}}
  split: {{val: 0.02}}
  preprocess: {{image: {{normalize: {{mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}}}}}}
  loader: {{on_device: false, num_workers: 2}}
train:
  epochs: 1
  batch_size: 64
  eval_batch_size: 64
  optimizer: {{type: sgd, lr: 0.05, momentum: 0.9}}
  loss: cross_entropy
"""


def make_folder(folder: Path, n: int, seed: int = 0) -> None:
    from PIL import Image

    have = sum(1 for _ in folder.rglob("*.jpg")) if folder.exists() else 0
    if have == n:
        return
    rng = np.random.default_rng(seed)
    for i in range(n):
        sub = folder / f"class{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)).save(sub / f"{i:06d}.jpg", quality=90)


def tree_rss(proc) -> tuple[int, int]:
    import psutil

    total = main = 0
    try:
        main = proc.memory_full_info().pss
        total = main + sum(c.memory_full_info().pss for c in proc.children(recursive=True))
    except psutil.Error:
        pass
    return total, main


def run(workdir: Path, n: int) -> dict:
    import psutil

    folder = workdir / f"images{n}"
    make_folder(folder, n)
    spec = workdir / f"spec{n}.yaml"
    spec.write_text(SPEC.format(folder=folder))
    out = workdir / f"run{n}"
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "netspec", "train", str(spec), "--out", str(out), "--overwrite"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ps = psutil.Process(proc.pid)
    peak_tree = peak_main = 0
    while proc.poll() is None:
        total, main = tree_rss(ps)
        peak_tree, peak_main = max(peak_tree, total), max(peak_main, main)
        time.sleep(0.1)
    log = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise SystemExit(f"netspec train failed ({proc.returncode}):\n{log[-3000:]}")
    return {"images": n, "wall_s": time.perf_counter() - start, "peak_tree_mb": peak_tree / 2**20,
            "peak_main_mb": peak_main / 2**20, "disk_mb": sum(f.stat().st_size for f in folder.rglob("*.jpg")) / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, nargs="+", default=[5000, 20000])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/netspec-data-memory"))
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = [run(args.workdir, n) for n in args.images]
    print(f"{'images':>8} {'on disk':>9} {'wall':>8} {'peak PSS, tree':>15} {'peak PSS, main':>15}")
    for r in rows:
        print(f"{r['images']:>8,} {r['disk_mb']:>7.0f}MB {r['wall_s']:>7.0f}s {r['peak_tree_mb']:>13.0f}MB "
              f"{r['peak_main_mb']:>13.0f}MB")
    if len(rows) > 1:
        print(f"peak (tree) at {rows[-1]['images']:,} / at {rows[0]['images']:,}: "
              f"{rows[-1]['peak_tree_mb'] / rows[0]['peak_tree_mb']:.2f}")


if __name__ == "__main__":
    main()
