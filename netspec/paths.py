"""Where netspec reads and writes, and what a spec can make it touch.

The policy (README, "Reliability and security"):

* **Inputs** — data files, split files, ``extends`` bases, pretrained checkpoints — are the only
  paths a spec holds. A relative path is resolved against the spec file's folder (never the
  working directory); absolute paths, ``..`` and symlinks are allowed, because datasets live where
  they live. Inputs are only ever opened for reading.
* **Outputs** of a run all land inside its run directory: the one given with ``--out`` (or
  ``--resume``), else ``runs/NAME-TIME`` under the working directory. A name taken from the spec
  becomes a file name only through ``file_stem``, so ``name: ../../etc`` cannot leave ``runs/``
  (the same for `netspec export`'s default file names). The run directory itself may be a symlink
  (runs on another disk), but netspec refuses to write into one that holds symlinks
  (``check_run_dir``): a planted ``metrics.jsonl -> ~/.bashrc`` would otherwise be appended to.
  The one output a spec may direct elsewhere is an MLflow store (``train.log.mlflow.tracking_uri``),
  which exists to be written outside the run.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import TrainError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(name: str, default: str = "run") -> str:
    """``name`` reduced to one safe path component: letters, digits, ``.``, ``_`` and ``-``; no
    separators, no leading dots (so never ``.``, ``..`` or a hidden file)."""
    stem = _UNSAFE.sub("_", name).strip("._-")
    return stem[:100] or default


def check_run_dir(run_dir: Path) -> None:
    """Refuse a run directory that holds symlinks (writing through one could reach any file)."""
    for entry in sorted(Path(run_dir).rglob("*")):
        if entry.is_symlink():
            raise TrainError(f"the run directory {run_dir} holds a symlink, {entry.relative_to(run_dir)} -> "
                             f"{entry.readlink()}; netspec writes only regular files inside its run directory",
                             hint="remove the symlink, or choose another run directory with --out")
