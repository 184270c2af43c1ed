"""A run directory as data: the metrics rows, the resolved spec and what the run recorded about
itself. No torch, no matplotlib: reading a run is cheap.

Files read (all but metrics.jsonl optional, so older runs still get a report):

* ``metrics.jsonl``          one JSON row per epoch (``train.loss``, ``val.accuracy``, ``lr``, ...)
* ``spec.yaml``              the resolved spec
* ``run_info.json``          written at the end of training: result, timing, environment, model summary
* ``confusion_matrix.json``  classification: the final weights' confusion matrix on the val split
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..errors import NetspecError

INFO_FILE, CONFUSION_FILE, METRICS_FILE, SPEC_FILE = "run_info.json", "confusion_matrix.json", "metrics.jsonl", "spec.yaml"
#: row keys that are bookkeeping, not metrics
NOT_METRICS = ("epoch", "lr", "epoch_time_s", "samples_per_s")


class RunDirError(NetspecError):
    """A directory that is not (or not yet) a netspec run directory."""


@dataclass
class RunLog:
    path: Path
    rows: list[dict[str, Any]]
    spec_text: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    confusion: Optional[dict[str, Any]] = None

    @property
    def name(self) -> str:
        return self.path.resolve().name

    def scalar_keys(self) -> list[str]:
        """Keys holding a number in at least one row, in first-seen order."""
        keys: dict[str, None] = {}
        for row in self.rows:
            for k, v in row.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    keys.setdefault(k, None)
        return list(keys)

    def metric_names(self) -> list[str]:
        """Metric names without their split: ``loss``, ``accuracy``, ... (``loss`` first)."""
        names: dict[str, None] = {"loss": None} if any("train.loss" in r or "val.loss" in r for r in self.rows) else {}
        for key in self.scalar_keys():
            if "." in key and key not in NOT_METRICS:
                names.setdefault(key.split(".", 1)[1], None)
        return list(names)

    def series(self, key: str) -> tuple[list[int], list[float]]:
        """(epochs, values) of a scalar key, skipping rows without it."""
        pts = [(r["epoch"], float(r[key])) for r in self.rows
               if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]
        return [e for e, _ in pts], [v for _, v in pts]

    def result(self) -> dict[str, Any]:
        """Epochs, best/stopped epoch, train time and final metrics: from run_info.json, else the rows."""
        if "result" in self.info:
            return self.info["result"]
        last = self.rows[-1] if self.rows else {}
        return {"epochs": last.get("epoch", 0), "best_epoch": None, "stopped_epoch": None,
                "train_time_s": sum(float(r.get("epoch_time_s", 0.0)) for r in self.rows),
                "metrics": {k: v for k, v in last.items() if k.startswith(("train.", "val.", "test."))}}


def read_run(run_dir: str | Path) -> RunLog:
    path = Path(run_dir)
    metrics = path / METRICS_FILE
    if not metrics.is_file():
        raise RunDirError(f"{path} is not a run directory: it has no {METRICS_FILE}",
                          hint="give the directory `netspec train` wrote (its --out, or runs/NAME-TIMESTAMP)")
    rows = []
    for i, line in enumerate(metrics.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise RunDirError(f"{metrics}:{i}: not a JSON row ({exc.msg})") from None
    spec = path / SPEC_FILE
    return RunLog(path, rows, spec.read_text(encoding="utf-8") if spec.is_file() else "",
                  _json(path / INFO_FILE) or {}, _json(path / CONFUSION_FILE))


def _json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path}: not valid JSON ({exc.msg})") from None
