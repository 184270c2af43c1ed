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

from .errors import Location, TrainError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step: a temporary file beside it, flushed to disk, then
    renamed over it. A kill at any moment leaves the old file or the new one, never a truncated one
    (a resumed run's metrics.jsonl was rewritten in place: killed then, it was left empty)."""
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # a full disk: name the file meant, not the temporary one
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


#: what a run directory holds once netspec has written to it (spec.yaml comes first)
RUN_MARKERS = ("spec.yaml", "metrics.jsonl", "last.pt")
LOCK_FILE = ".netspec.lock"


def claim_run_dir(run_dir: Path, resuming: bool, overwrite: bool) -> None:
    """A new run may only start in a missing or empty folder: a folder holding an earlier run is
    refused (``--resume`` continues it, ``--overwrite`` starts over, removing that run's files), and
    ``--overwrite`` clears only folders that netspec wrote (never a folder of other files)."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise TrainError("the run directory is a file", hint="give --out a folder (new or empty)",
                         location=Location.whole(run_dir))
    if resuming or not run_dir.is_dir():
        return
    entries = [e for e in run_dir.iterdir() if e.name != LOCK_FILE]
    if not entries:
        return
    is_run = any((run_dir / m).exists() for m in RUN_MARKERS)
    if not overwrite:
        what = "an earlier run" if is_run else f"{len(entries)} other file(s)"
        raise TrainError(f"this run directory already holds {what}", location=Location.whole(run_dir),
                         hint=f"continue it with --resume {run_dir}, start it over with --overwrite, or choose a new --out"
                         if is_run else "choose a new or empty folder for --out")
    if not is_run:
        raise TrainError(f"--overwrite clears only netspec run directories; this folder holds other files "
                         f"({', '.join(sorted(e.name for e in entries)[:5])})", hint="choose a new or empty folder for --out",
                         location=Location.whole(run_dir))
    import shutil

    check_run_dir(run_dir)  # never follow a symlink planted inside
    for entry in entries:
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


class RunLock:
    """An exclusive lock on a run directory for as long as a run writes to it: a second
    ``netspec train`` on the same folder is refused instead of interleaving its files."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self.fh = None

    def __enter__(self) -> "RunLock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no advisory locks on this platform
            return self
        self.fh = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.seek(0)
            holder = self.fh.read().strip()
            self.fh.close()
            self.fh = None
            raise TrainError("another netspec process is training in this run directory" + (f" ({holder})" if holder else ""),
                             hint="wait for it to finish, or choose another --out",
                             location=Location.whole(self.path.parent)) from None
        import os

        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"pid {os.getpid()}\n")
        self.fh.flush()
        return self

    def __exit__(self, *exc) -> None:
        if self.fh is not None:
            self.path.unlink(missing_ok=True)
            self.fh.close()  # closing releases the lock
            self.fh = None
