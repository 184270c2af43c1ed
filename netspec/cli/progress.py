"""Training progress on stderr: a rich progress bar on a terminal (loss, metrics, samples/s),
plain log lines otherwise, nothing with --quiet."""

from __future__ import annotations

import sys
import time
from typing import Any

import typer

SHOWN = ("train.loss", "val.loss", "val.accuracy", "val.f1_macro", "val.r2", "val.rmse", "val.perplexity", "val.exact_match",
         "val.iou", "val.dice", "lr")


def _fmt(row: dict[str, Any]) -> str:
    parts = [f"{k} {row[k]:.4g}" for k in SHOWN if isinstance(row.get(k), float)]
    parts.append(f"{row.get('samples_per_s', 0):,.0f} samples/s")
    return "  ".join(parts)


class PlainReporter:
    """A line per stage before training (reading the spec, loading data, building the model), then
    one line per epoch, on stderr."""

    def stage(self, text: str) -> None:
        typer.echo(f"netspec: {text}", err=True)

    def start(self, epochs: int, batches: int, first: int) -> None:
        self.epochs = epochs

    def batch(self, epoch: int, index: int, samples: int) -> None:
        pass

    def epoch(self, row: dict[str, Any]) -> None:
        typer.echo(f"epoch {row['epoch']}/{self.epochs}  {_fmt(row)}", err=True)

    def note(self, text: str) -> None:
        typer.echo(text, err=True)


class RichReporter:
    """A progress bar over all batches; refreshed at most 10 times a second."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
                                 console=Console(file=sys.stderr), auto_refresh=False)
        self.last = 0.0
        self.samples = 0
        self.t0 = time.perf_counter()

    def stage(self, text: str) -> None:
        self.progress.console.print(f"netspec: {text}", markup=False, highlight=False)

    def start(self, epochs: int, batches: int, first: int) -> None:
        self.epochs, self.batches = epochs, batches
        self.progress.start()
        self.task = self.progress.add_task("train", total=batches, epoch=f"{first}/{epochs}", info="")

    def batch(self, epoch: int, index: int, samples: int) -> None:
        self.samples += samples
        now = time.perf_counter()
        if now - self.last > 0.1 or index + 1 == self.batches:
            rate = self.samples / max(now - self.t0, 1e-9)
            self.progress.update(self.task, completed=index + 1, epoch=f"{epoch}/{self.epochs}",
                                 info=f"{rate:,.0f} samples/s")
            self.progress.refresh()
            self.last = now

    def epoch(self, row: dict[str, Any]) -> None:
        self.progress.console.print(f"epoch {row['epoch']}/{self.epochs}  {_fmt(row)}")
        self.samples, self.t0 = 0, time.perf_counter()
        self.progress.reset(self.task, total=self.batches)

    def note(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self.progress.stop()


def reporter_for(quiet: bool) -> Any:
    if quiet:
        return None
    return RichReporter() if sys.stderr.isatty() else PlainReporter()
