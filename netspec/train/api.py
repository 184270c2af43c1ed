"""The library entry points behind ``netspec train``, ``evaluate`` and ``predict``.

``train_spec(path, overrides, epochs=, device=, out=, resume=, reporter=)`` -> RunResult, with a
run directory holding ``spec.yaml`` (the resolved spec), ``metrics.jsonl``, ``last.pt`` and
``best.pt``. ``--resume`` takes a run directory (its last.pt) or a checkpoint file and continues
in that run directory. Every NetspecError raised carries the spec's source map.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterable, Optional

from ..check import Checked, check
from ..errors import NetspecError
from ..paths import check_run_dir, file_stem
from .checkpoint import load_checkpoint
from .loop import RunResult, evaluate_split, fit
from .session import build_session, located


def resolved_text(checked: Checked) -> str:
    from ..render import canonical, to_yaml

    return to_yaml(canonical(checked))


def default_run_dir(checked: Checked) -> Path:
    name = file_stem(checked.spec.name or Path(checked.loaded.file).stem)  # a spec's name cannot leave runs/ (paths.py)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path("runs") / f"{name}-{stamp}"
    i = 1
    while path.exists():
        path, i = Path("runs") / f"{name}-{stamp}-{i}", i + 1
    return path


def train_spec(path: str | Path, overrides: Iterable[str] = (), epochs: Optional[int] = None,
               device: Optional[str] = None, out: Optional[str | Path] = None, resume: Optional[str | Path] = None,
               reporter: Any = None, checked: Optional[Checked] = None, dist: Any = None) -> RunResult:
    """``dist`` (a DistContext) makes this one rank of a distributed run: rank 0 chooses the run
    directory and writes every file; the other ranks train their share and join its collectives."""
    checked = checked or check(path, list(overrides))
    try:
        ckpt = load_checkpoint(resume) if resume is not None and not _unstarted(resume) else None
        if out is not None:
            run_dir = Path(out)
        elif resume is not None:
            run_dir = Path(resume) if Path(resume).is_dir() else Path(resume).parent
        else:
            run_dir = default_run_dir(checked)
        if dist is not None:  # rank 0's choice (the default is timestamped)
            run_dir = Path(dist.broadcast(str(run_dir)))
        session = build_session(checked, epochs, device, ckpt, dist=dist)
        if session.data.skipped and hasattr(reporter, "note"):  # data.bad_samples: skip (data/faults.py)
            from ..data.faults import describe_skipped

            reporter.note(describe_skipped(session.data.skipped))
        run_dir.mkdir(parents=True, exist_ok=True)
        check_run_dir(run_dir)  # no writing through symlinks planted in the run directory (paths.py)
        text = resolved_text(checked)
        if dist is not None and not dist.is_main:
            from .distributed.worker import follow

            return follow(session, run_dir, text)
        (run_dir / "spec.yaml").write_text(text, encoding="utf-8")
        _reset_log(run_dir / "metrics.jsonl", session.epoch)
        from ..report.outputs import RunOutputs  # train.log trackers; plots and report.html at the end

        with RunOutputs(session, run_dir, reporter) as outputs:
            result = fit(session, run_dir, outputs.reporter, text)
            outputs.finish(result)
        return result
    except NetspecError as exc:
        raise located(exc, checked) from None


def _reset_log(path: Path, keep_epochs: int) -> None:
    """Keep the rows of the epochs a resumed run already has; start fresh otherwise. A row that a
    killed process left half written is dropped (it belongs to an epoch the checkpoint lacks)."""
    rows = []
    if keep_epochs and path.is_file():
        rows = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
                if 0 < _epoch_of(line) <= keep_epochs]
    path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")


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


def evaluate_checkpoint(path: str | Path, checkpoint: str | Path, overrides: Iterable[str] = (),
                        split: str = "val", device: Optional[str] = None) -> dict[str, Any]:
    """Loss and metrics of ``split`` (train, val or test) with the checkpoint's weights."""
    from ..errors import DataError

    checked = check(path, list(overrides))
    try:
        ckpt = load_checkpoint(checkpoint)
        session = build_session(checked, device=device, preprocess=ckpt.get("preprocess"))
        _load_weights(session, ckpt)
        if split not in session.data.loaders or session.data.size(split) == 0:
            raise DataError(f"the data has no {split!r} split (or it is empty)", path=("data", "split"),
                            hint="set data.split.test (e.g. 0.1) to hold out a test split")
        return evaluate_split(session, split)
    except NetspecError as exc:
        raise located(exc, checked) from None


def _load_weights(session, ckpt: dict) -> None:
    from ..errors import TrainError

    for name, model in session.models.items():
        try:
            model.load_state_dict(ckpt["models"][name])
        except (KeyError, RuntimeError) as exc:
            raise TrainError(f"the checkpoint does not fit this spec's model {name!r}: {str(exc).splitlines()[0]}") from None
