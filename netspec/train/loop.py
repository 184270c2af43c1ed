"""The training loop: explicit, no callback framework.

``fit(session, run_dir, reporter)`` runs epochs of ``program.train_step`` over the train batches,
evaluates the validation split, logs one row per epoch to ``metrics.jsonl`` (``train.loss``,
``val.loss``, ``val.<metric>``, ``lr``, ``epoch_time_s``, ``samples_per_s``), tracks the monitored
metric (early stopping: patience, min_delta, restore best), and writes ``last.pt`` / ``best.pt``.
The loss is summed on the device; ``.item()`` happens once per epoch.

Several models (a GAN's generator and discriminator) each have their own optimizer and schedule
(``lr.<model>`` is logged too); a program may define ``end_epoch(epoch, run_dir)`` (artefacts such
as sample grids) and ``state_dict``/``load_state_dict`` (its own counters, saved in checkpoints).

``reporter`` (optional) receives progress: ``start(total_epochs, batches_per_epoch, first_epoch)``,
``batch(epoch, index, samples)`` and ``epoch(row)``; the CLI renders it, the library never prints.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from ..checkpoint import load_checkpoint, new_checkpoint, save_checkpoint
from ..errors import TrainError
from ..programs.plan import monitor_mode
from .cadence import Cadence, snapshot
from .guard import counted, diagnosed
from .runtime import rng_state
from .session import load_model
from .signals import interrupt, resume_position, stop_requested


@dataclass
class RunResult:
    run_dir: Optional[str]
    epochs: int  # completed epochs
    best_epoch: Optional[int]
    stopped_epoch: Optional[int]  # set when early stopping ended the run
    train_time_s: float
    metrics: dict[str, Any]  # the final (best when restored) epoch's row, with test.* for a test split
    history: list[dict[str, Any]] = field(default_factory=list)
    restored_best: bool = False  # the weights (and metrics) are the best epoch's, in best.pt; else the last, last.pt

    @property
    def reported_epoch(self) -> int:
        return self.best_epoch if self.restored_best and self.best_epoch is not None else self.epochs

    @property
    def checkpoint(self) -> Optional[str]:
        """The file that holds the weights this result reports."""
        if self.run_dir is None:
            return None
        return str(Path(self.run_dir) / ("best.pt" if self.restored_best else "last.pt"))


def evaluate_split(session, split: str) -> dict[str, Any]:
    """Loss and metrics of one split with the current weights, keyed ``<split>.<name>``."""
    loader = session.data.loaders.get(split)
    if loader is None or loader.num_samples == 0:
        return {}
    program = session.program
    for m in session.models.values():
        m.eval()
    total = torch.zeros((), device=session.device)
    n = 0
    for batch in loader.epoch():
        size = next(iter(batch.values())).shape[0]
        total += program.eval_step(batch, session.precision.autocast).float() * size
        n += size
    if session.dist is not None:  # every rank evaluated its share of the split
        total, n = session.dist.sum(total, n)
    row = {f"{split}.loss": float(total / n)}
    row.update({f"{split}.{k}": v for k, v in program.metrics["eval"].compute().items()})
    return row


class Tracker:
    """Best value of the monitored metric and epochs without improvement."""

    def __init__(self, monitor: Optional[str], mode: str, min_delta: float, state: dict) -> None:
        """``monitor`` None: no epoch is ever better than another (the run keeps its last weights)."""
        self.monitor, self.min_delta = monitor, min_delta
        self.mode = monitor_mode(monitor, mode) if monitor is not None else mode
        self.best = state.get("best")
        self.best_epoch = state.get("best_epoch")
        self.bad_epochs = state.get("bad_epochs", 0)

    def update(self, row: dict[str, Any], epoch: int) -> bool:
        value = row.get(self.monitor)
        if not isinstance(value, float):
            return False
        better = self.best is None or (value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta)
        if better:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
        else:
            self.bad_epochs += 1
        return better

    def state(self) -> dict[str, Any]:
        return {"monitor": self.monitor, "mode": self.mode, "best": self.best, "best_epoch": self.best_epoch,
                "bad_epochs": self.bad_epochs}


def _checkpoint(session, spec_text: str, row: dict) -> dict:
    u = session.updater
    return new_checkpoint(
        spec_text, session.checked.loaded.file,
        models={k: m.state_dict() for k, m in session.models.items()},
        optimizers={k: s.optimizer.state_dict() for k, s in u.slots.items()},
        schedules={k: s.schedule.state_dict() for k, s in u.slots.items()},
        scaler=u.scaler.state_dict() if u.scaler is not None else None,
        epoch=session.epoch, step=next(iter(u.slots.values())).steps, steps={k: s.steps for k, s in u.slots.items()},
        rng=rng_state(session.generator), preprocess=session.data.preprocessor.state_dict(), metrics=row,
        tracker=session.tracker, program=session.program.state_dict(),
        overrides=list(session.checked.overrides))


def fit(session, run_dir: Optional[Path] = None, reporter: Any = None, spec_text: str = "") -> RunResult:
    train, program, data = session.train, session.program, session.data
    es = train.early_stopping
    tracker = Tracker(es.monitor if es else session.plan.monitor, es.mode if es else "auto",
                      es.min_delta if es else 0.0, session.tracker)
    best_state = None
    if session.resumed_from is not None and run_dir is not None and (run_dir / "best.pt").is_file() and es and es.restore_best:
        best_state = load_checkpoint(run_dir / "best.pt", map_location=session.device)["models"]
    loader, gen, augment = data.loaders["train"], session.generator, data.augment
    history: list[dict[str, Any]] = []
    stopped = None
    cadence = Cadence(train.checkpoint.every, session.dist is not None)
    if reporter is not None:
        reporter.start(train.epochs, len(loader), session.epoch + 1)
    t0 = time.perf_counter()
    for epoch in range(session.epoch + 1, train.epochs + 1):
        for u in train.unfreeze:
            if u.epoch == epoch:
                from .regularize import set_trainable

                for m in session.models.values():
                    set_trainable(m, u.nodes, True)
        te = time.perf_counter()
        for m in session.models.values():
            m.train()
        position = resume_position(session, epoch)  # reliability: re-enter an epoch a signal stopped (signals.py)
        epoch_rng = gen.get_state()
        total = position.total if position else torch.zeros((), device=session.device)
        n = position.n if position else 0
        i, batch = 0, None
        for i, batch in enumerate(loader.epoch(gen)):
            if position is not None and position.skip(i, gen):
                continue
            if stop_requested(session):  # Ctrl-C / SIGTERM: checkpoint with the position, then leave
                _flush_best(session, run_dir, cadence)  # last.pt's tracker names the best epoch: its weights too
                raise interrupt(session, _checkpoint(session, spec_text, {}), _save, run_dir, epoch, i, total, n, epoch_rng)
            if augment:
                batch = augment(batch, gen)
            size = next(iter(batch.values())).shape[0]
            with diagnosed(session, batch, epoch, i):  # train.nonfinite: a located error naming step, term, node
                loss = program.train_step(batch, session.updater)
            total += counted(session, loss, size)
            n += size
            if reporter is not None:
                reporter.batch(epoch, i, size)
        with diagnosed(session, batch, epoch, i):
            session.updater.flush()
            if session.updater.guard is not None:  # no checkpoint with weights a bad update made non-finite
                session.updater.guard.check_weights(session.models, session.updater.slots)
        if session.dist is not None:  # the loss over the whole global batch stream, the same on every rank
            total, n = session.dist.sum(total, n)
        row: dict[str, Any] = {"epoch": epoch, "train.loss": float(total / max(n, 1))}
        if session.updater.guard is not None:
            row.update(session.updater.guard.epoch_row(total, n))  # skip mode: nonfinite_skipped, loss of kept batches
        if not torch.isfinite(torch.tensor(row["train.loss"])):
            raise TrainError(f"the training loss is {row['train.loss']} at epoch {epoch}", path=("train", "optimizer", "lr"),
                             hint="lower the learning rate, add gradient clipping, or check the data for NaN/inf")
        if "train" in program.metrics:
            row.update({f"train.{k}": v for k, v in program.metrics["train"].compute().items()})
        if epoch % train.eval_every == 0 or epoch == train.epochs:
            row.update(evaluate_split(session, "val"))
        row["lr"] = next(iter(session.updater.slots.values())).schedule.lr()
        if len(session.updater.slots) > 1:
            row.update({f"lr.{k}": s.schedule.lr() for k, s in session.updater.slots.items()})
        for slot in session.updater.slots.values():
            slot.schedule.step_epoch(row)
        improved = tracker.update(row, epoch)
        session.epoch, session.tracker = epoch, tracker.state()
        row["epoch_time_s"] = time.perf_counter() - te
        row["samples_per_s"] = n / max(row["epoch_time_s"], 1e-9)
        history.append(row)
        program.end_epoch(epoch, run_dir if _main(session) else None)
        if improved and es is not None and es.restore_best:
            best_state = snapshot({k: m.state_dict() for k, m in session.models.items()})
        stop = es is not None and tracker.bad_epochs >= es.patience
        if run_dir is not None:
            _write(session, run_dir, spec_text, row, improved, epoch == train.epochs or stop, cadence,
                   best_state if improved else None)
        if reporter is not None:
            reporter.epoch(row)
        if stop:
            stopped = epoch
            break
    train_time = time.perf_counter() - t0
    final = history[-1] if history else dict((session.resumed_from or {}).get("metrics") or {})
    restored = best_state is not None and tracker.best_epoch is not None
    if restored:
        for k, m in session.models.items():
            load_model(session, m, best_state[k])
        # the best epoch may predate a resume: its row is in metrics.jsonl, not in this process's history
        earlier = earlier_rows(run_dir, session.resumed_from) if run_dir is not None else []
        final = next((r for r in earlier + history if r["epoch"] == tracker.best_epoch), final)
        final = {**final, **evaluate_split(session, "val")}
    final = {**final, **evaluate_split(session, "test")}  # the reported weights on the held-out split, once
    return RunResult(str(run_dir) if run_dir else None, session.epoch, tracker.best_epoch, stopped, train_time, final,
                     history, restored_best=restored)


def earlier_rows(run_dir: Path, resumed_from: Optional[dict]) -> list[dict]:
    """The metrics rows of the epochs before a resume (metrics.jsonl keeps exactly those, train/api.py)."""
    if resumed_from is None or not (run_dir / "metrics.jsonl").is_file():
        return []
    rows = []
    for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("epoch"), int) and row["epoch"] <= resumed_from.get("epoch", 0):
            rows.append(row)
    return rows


def _main(session) -> bool:
    """Whether this process writes the run's files (rank 0 of a distributed run)."""
    return session.dist is None or session.dist.is_main


def _save(session, ckpt: dict, path: Path) -> None:
    if session.dist is None:
        save_checkpoint(ckpt, path)
    elif session.dist.strategy == "fsdp":  # every rank writes its shards
        from .distributed.sharded import save_sharded

        save_sharded(session, ckpt, path)
    elif session.dist.is_main:
        save_checkpoint(ckpt, path)


def _write(session, run_dir: Path, spec_text: str, row: dict, improved: bool, last_epoch: bool, cadence: Cadence,
           best_models: Optional[dict] = None) -> None:
    if _main(session):
        with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
    due = cadence.due(row["epoch"], last_epoch)
    keep = improved and session.train.checkpoint.best
    ckpt = _checkpoint(session, spec_text, row) if keep or due else None
    if keep:
        if due:
            cadence.pending_best = ckpt
        else:
            cadence.keep_best(ckpt, best_models)
    if not due:
        return
    started = time.perf_counter()
    # best.pt before last.pt: killed between the two, last.pt is still the previous write's, so the
    # resumed run redoes these epochs and writes best.pt again (the other order lost the best weights)
    _flush_best(session, run_dir, cadence)
    _save(session, ckpt, run_dir / "last.pt")
    cadence.timed(started)


def _flush_best(session, run_dir: Optional[Path], cadence: Cadence) -> None:
    """Write the best epoch's checkpoint kept in memory since it improved, if any."""
    if cadence.pending_best is not None and run_dir is not None:
        _save(session, cadence.pending_best, run_dir / "best.pt")
    cadence.pending_best = None
