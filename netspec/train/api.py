"""The library entry points behind ``netspec train``, ``evaluate`` and ``predict``.

``train_spec(path, overrides, epochs=, device=, out=, resume=, reporter=)`` -> RunResult, with a
run directory holding ``spec.yaml`` (the resolved spec), ``metrics.jsonl``, ``last.pt`` and
``best.pt`` (and ``tokenizer.json`` when the text source has a subword tokenizer). ``--resume``
takes a run directory (its last.pt) or a checkpoint file and continues in that run directory.
Every NetspecError raised carries the spec's source map.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from ..check import Checked, check
from ..checkpoint import load_checkpoint
from ..errors import NetspecError
from ..paths import RunLock, check_run_dir, claim_run_dir, file_stem, write_atomic
from ..render import resolved_text
from ..report.outputs import RunOutputs
from .distributed.follow import follow
from .loop import RunResult, evaluate_split, fit
from .resume import check_unchanged, resumed_overrides
from .session import build_session, located


def default_run_dir(checked: Checked) -> Path:
    name = file_stem(checked.spec.name or Path(checked.loaded.file).stem)  # a spec's name cannot leave runs/ (paths.py)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path("runs") / f"{name}-{stamp}"
    i = 1
    while path.exists():
        path, i = Path("runs") / f"{name}-{stamp}-{i}", i + 1
    return path


def command_overrides(overrides: Iterable[str], epochs: Optional[int] = None, device: Optional[str] = None) -> list[str]:
    """``--epochs N`` and ``--device D`` are overrides like any ``--set``: the run's resolved spec
    records them, and ``--resume`` re-applies them."""
    out = list(overrides)
    out += [f"train.epochs={epochs}"] if epochs is not None else []
    out += [f"train.device={device}"] if device is not None else []
    return out


def train_spec(path: str | Path, overrides: Iterable[str] = (), epochs: Optional[int] = None,
               device: Optional[str] = None, out: Optional[str | Path] = None, resume: Optional[str | Path] = None,
               reporter: Any = None, checked: Optional[Checked] = None, dist: Any = None,
               overwrite: bool = False, check_with: Callable[[str | Path, list[str]], Checked] = check) -> RunResult:
    """``dist`` (a DistContext) makes this one rank of a distributed run: rank 0 chooses the run
    directory and writes every file; the other ranks train their share and join its collectives
    (``device`` is then the rank's own device, a placement rather than a setting of the spec, and
    ``check_with`` the launcher's check). ``checked`` skips the check (the overrides are then
    already applied). ``out`` must be a new or empty folder unless ``resume`` (continue it) or
    ``overwrite`` (start it over) is given."""
    new = command_overrides(overrides, epochs, None if dist is not None else device)
    ckpt = load_checkpoint(resume, purpose="resume") if resume is not None and not _unstarted(resume) else None
    if checked is None:
        checked = check_with(path, resumed_overrides(ckpt, new) if ckpt is not None else new)
    try:
        if ckpt is not None:  # the run's own spec, or a change this command line states (resume.py)
            check_unchanged(ckpt, resolved_text(checked), new)
        if out is not None:
            run_dir = Path(out)
        elif resume is not None:
            run_dir = _run_dir_of(Path(resume))
        else:
            run_dir = default_run_dir(checked)
        if dist is not None:  # rank 0's choice (the default is timestamped)
            run_dir = Path(dist.broadcast(str(run_dir)))
        main = dist is None or dist.is_main
        if main:  # never over an earlier run, unless it is the one resumed
            continues = resume is not None and run_dir.resolve() == _run_dir_of(Path(resume)).resolve()
            claim_run_dir(run_dir, resuming=continues, overwrite=overwrite)
            run_dir.mkdir(parents=True, exist_ok=True)
        with RunLock(run_dir) if main else contextlib.nullcontext():  # one process per run directory
            return _train(checked, run_dir, ckpt, reporter, dist, device if dist is not None else None)
    except NetspecError as exc:
        raise located(exc, checked) from None


def _train(checked: Checked, run_dir: Path, ckpt: Optional[dict], reporter: Any, dist: Any,
           placement: Optional[str]) -> RunResult:
    session = build_session(checked, device=placement, resume=ckpt, dist=dist,
                            stage=getattr(reporter, "stage", None))
    if session.data.skipped and hasattr(reporter, "note"):  # data.bad_samples: skip (data/faults.py)
        from ..data.faults import describe_skipped

        reporter.note(describe_skipped(session.data.skipped))
    run_dir.mkdir(parents=True, exist_ok=True)
    check_run_dir(run_dir)  # no writing through symlinks planted in the run directory (paths.py)
    text = resolved_text(checked)
    if dist is not None and not dist.is_main:
        return follow(session, run_dir, text)
    write_atomic(run_dir / "spec.yaml", text)
    tokenizer = session.data.preprocessor.state.get("tokenizer")
    if tokenizer:  # a subword text source: the run's tokenizer, for tokenizers.Tokenizer.from_file
        write_atomic(run_dir / "tokenizer.json", tokenizer)
    _reset_log(run_dir / "metrics.jsonl", session.epoch)
    before = dict(session.data.skipped)
    with RunOutputs(session, run_dir, reporter) as outputs:  # train.log trackers; plots and report.html at the end
        result = fit(session, run_dir, outputs.reporter, text)
        if session.data.skipped != before and hasattr(reporter, "note"):  # samples that failed to read mid-epoch
            from ..data.faults import describe_skipped

            reporter.note(describe_skipped(session.data.skipped))
        outputs.finish(result)
    return result


def _run_dir_of(resume: Path) -> Path:
    return resume if resume.is_dir() else resume.parent


def _reset_log(path: Path, keep_epochs: int) -> None:
    """Keep the rows of the epochs a resumed run already has; start fresh otherwise. A row that a
    killed process left half written is dropped (it belongs to an epoch the checkpoint lacks)."""
    rows = []
    if keep_epochs and path.is_file():
        rows = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
                if 0 < _epoch_of(line) <= keep_epochs]
    write_atomic(path, "".join(r + "\n" for r in rows))


def _epoch_of(line: str) -> int:
    try:
        row = json.loads(line)
        return row["epoch"] if isinstance(row, dict) and isinstance(row.get("epoch"), int) else 0
    except ValueError:
        return 0


def _unstarted(resume: str | Path) -> bool:
    """A run directory killed before its first checkpoint (it has spec.yaml, no last.pt): resuming
    it starts the run over in the same directory, which loses nothing."""
    resume = Path(resume)
    return resume.is_dir() and not (resume / "last.pt").exists() and (resume / "spec.yaml").is_file()


class Evaluation(dict):
    """Metrics keyed ``<split>.<name>``, which checkpoint (file, epoch) they are of, and notes
    (the data differs from the run's, so the split holds other samples)."""

    def __init__(self, metrics: dict[str, Any], checkpoint: str, notes: Optional[list[str]] = None) -> None:
        super().__init__(metrics)
        self.checkpoint = checkpoint
        self.notes = list(notes or [])


def data_notes(ckpt: dict, checked: Checked, split: str) -> list[str]:
    """A note when the data section differs from the one the checkpoint was trained with: its
    ``split`` then holds other samples than the run's (perhaps some it trained on)."""
    from ..errors import format_path
    from .resume import spec_changes

    recorded = ckpt.get("spec_text")
    if not isinstance(recorded, str):
        return []
    changes = [c for c in spec_changes(recorded, resolved_text(checked)) if c[0][:1] == ("data",)]
    if not changes:
        return []
    shown = "; ".join(f"{format_path(p)}: {a} -> {b}" for p, a, b in changes[:3])
    return [f"the data differs from the run's ({shown}): the {split} split is drawn from it, not the run's {split} split"]


def evaluate_checkpoint(path: str | Path, checkpoint: str | Path, overrides: Iterable[str] = (),
                        split: str = "val", device: Optional[str] = None) -> Evaluation:
    """Loss and metrics of ``split`` (train, val or test) with the checkpoint's weights (a run
    directory: the weights the run reported, ``checkpoint.run_checkpoint``)."""
    from ..checkpoint import describe
    from ..errors import DataError

    checked = check(path, list(overrides))
    try:
        ckpt = load_checkpoint(checkpoint)
        session = build_session(checked, device=device, preprocess=ckpt.get("preprocess"))
        _load_weights(session, ckpt)
        if split not in session.data.loaders or session.data.size(split) == 0:
            raise DataError(f"the data has no {split!r} split (or it is empty)", path=("data", "split"),
                            hint="set data.split.test (e.g. 0.1) to hold out a test split")
        return Evaluation(evaluate_split(session, split), describe(ckpt), data_notes(ckpt, checked, split))
    except NetspecError as exc:
        raise located(exc, checked) from None


def _load_weights(session, ckpt: dict) -> None:
    from ..checkpoint import check_same_models, load_weights

    check_same_models(session.checked, ckpt)
    for name, model in session.models.items():
        load_weights(model, ckpt, name)
