"""examples/digits_mlp.yaml written by hand in PyTorch: the reference of bench/cli_vs_script.py.

The same work as `netspec train examples/digits_mlp.yaml`: scikit-learn's digits, a stratified 80/20
split (seed 0), z-scored pixels fitted on the train split, a 64-256-128-10 MLP with dropout 0.2,
Adam (lr 1e-3, weight decay 1e-4), a one-epoch linear warm-up then cosine decay per step, batch 32,
30 epochs, validation loss, accuracy and macro F1 after every epoch (a line on stderr), early
stopping on val accuracy (patience 20) keeping the best weights, saved once at the end.

    python bench/scripts/digits_mlp.py --out DIR [--epochs 30]

Prints {"train_time_s": ..., "val.accuracy": ...} on stdout; the time is from the first epoch's
start to the last epoch's end, as netspec's summary.json counts it.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn


def f1_macro(pred: torch.Tensor, target: torch.Tensor, k: int) -> torch.Tensor:
    confusion = torch.bincount(target * k + pred, minlength=k * k).reshape(k, k).float()
    tp = confusion.diag()
    precision = tp / confusion.sum(0).clamp(min=1)
    recall = tp / confusion.sum(1).clamp(min=1)
    return (2 * precision * recall / (precision + recall).clamp(min=1e-12)).mean()


def fit(model: nn.Module, optimizer, schedule, data: tuple, epochs: int, patience: int, out: Path,
        transform=None) -> dict:
    """The training loop both scripts share: shuffled batches of 32, a schedule step per batch, the
    validation line after every epoch, the best weights by val accuracy kept and saved at the end."""
    x_train, y_train, x_val, y_val = data
    batch = 32
    generator = torch.Generator().manual_seed(0)
    best, best_epoch, best_state, bad = -1.0, 0, None, 0
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        loss_sum = torch.zeros(())
        for i in range(0, len(order), batch):
            index = order[i:i + batch]
            x = x_train[index] if transform is None else transform(x_train[index], generator)
            loss = F.cross_entropy(model(x), y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_sum += loss.detach() * len(index)
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = F.cross_entropy(logits, y_val).item()
            pred = logits.argmax(1)
            accuracy = (pred == y_val).float().mean().item()
            f1 = f1_macro(pred, y_val, 10).item()
        print(f"epoch {epoch}/{epochs}  train.loss {loss_sum.item() / len(x_train):.4g}  val.loss {val_loss:.4g}  "
              f"val.accuracy {accuracy:.4g}  val.f1_macro {f1:.4g}", file=sys.stderr, flush=True)
        if accuracy > best:
            best, best_epoch, best_state, bad = accuracy, epoch, copy.deepcopy(model.state_dict()), 0
        else:
            bad += 1
            if bad >= patience:
                break
    train_time = time.perf_counter() - t0
    model.load_state_dict(best_state)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "epoch": best_epoch}, out / "model.pt")
    return {"train_time_s": train_time, "val.accuracy": best, "best_epoch": best_epoch}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    torch.manual_seed(0)
    digits = load_digits()
    x_train, x_val, y_train, y_val = train_test_split(digits.data.astype("float32"), digits.target, test_size=0.2,
                                                      stratify=digits.target, random_state=0)
    mean, std = x_train.mean(0), x_train.std(0)
    std[std == 0] = 1.0
    x_train, x_val = torch.from_numpy((x_train - mean) / std), torch.from_numpy((x_val - mean) / std)
    y_train, y_val = torch.from_numpy(y_train), torch.from_numpy(y_val)

    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 128), nn.ReLU(),
                          nn.Dropout(0.2), nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    batch, epochs = 32, args.epochs
    steps_per_epoch = math.ceil(len(x_train) / batch)
    total, warmup = steps_per_epoch * epochs, steps_per_epoch

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(total - warmup, 1)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    result = fit(model, optimizer, schedule, (x_train, y_train, x_val, y_val), epochs, patience=20, out=args.out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
