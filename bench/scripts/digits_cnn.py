"""examples/digits_cnn.yaml written by hand in PyTorch: the reference of bench/cli_vs_script.py.

The same work as `netspec train examples/digits_cnn.yaml`: scikit-learn's digits as 1×8×8 images,
a stratified 80/20 split (seed 0), normalized by the train split's mean and std, two 3×3 conv (32)
+ batch norm + ReLU layers, 2×2 max pooling, dropout 0.3 and a linear layer; random affine
augmentation of each train batch (±8°, ±5 % shift); AdamW (lr 2e-3, weight decay 1e-2, none on
biases and norms), a one-cycle schedule per step, batch 32, 30 epochs, validation loss, accuracy
and macro F1 after every epoch (a line on stderr), the best weights by val accuracy saved at the end.

    python bench/scripts/digits_cnn.py --out DIR [--epochs 30]

Prints {"train_time_s": ..., "val.accuracy": ...} on stdout, timed as netspec's summary.json is.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from digits_mlp import fit  # noqa: E402


def affine(x: torch.Tensor, generator: torch.Generator, degrees: float = 8.0, shift: float = 0.05) -> torch.Tensor:
    n = x.shape[0]
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(degrees)
    move = (torch.rand(n, 2, generator=generator) * 2 - 1) * shift * 2  # grid coordinates span [-1, 1]
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack([torch.stack([cos, -sin, move[:, 0]], 1), torch.stack([sin, cos, move[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    torch.manual_seed(0)
    digits = load_digits()
    images = digits.images.astype("float32")[:, None]
    x_train, x_val, y_train, y_val = train_test_split(images, digits.target, test_size=0.2, stratify=digits.target,
                                                      random_state=0)
    mean, std = x_train.mean(), x_train.std()
    x_train, x_val = torch.from_numpy((x_train - mean) / std), torch.from_numpy((x_val - mean) / std)
    y_train, y_val = torch.from_numpy(y_train), torch.from_numpy(y_val)

    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                          nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Dropout(0.3), nn.Linear(32 * 4 * 4, 10))
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]  # biases and batch-norm weights
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 1e-2}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=2e-3)
    batch, epochs = 32, args.epochs
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=math.ceil(len(x_train) / batch) * epochs)
    result = fit(model, optimizer, schedule, (x_train, y_train, x_val, y_val), epochs, patience=30, out=args.out,
                 transform=affine)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
