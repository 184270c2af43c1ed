"""The checkpoint file: its header, atomic checksummed writes, verified ``weights_only`` reads, and
which file of a run directory a command means (``run_checkpoint``). The format is described in
``netspec.checkpoint``."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..errors import Location, TrainError
from .sharded import fill_sharded

FORMAT, FORMAT_VERSION = "netspec.checkpoint", 2
CHECKSUM_SINCE = 2  # format versions from this one on must carry the trailer
MAGIC = b"\nNETSPEC-SHA256:"
TRAILER_LEN = len(MAGIC) + 64 + 1


def netspec_version() -> str:
    """The installed distribution's version (``netspec.distribution``: the distribution is netspec-torch)."""
    from ..distribution import version

    return version()


def new_checkpoint(spec_text: str, spec_file: str, **fields: Any) -> dict[str, Any]:
    """A checkpoint dict with the header filled in."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "netspec_version": netspec_version(),
            "torch_version": str(torch.__version__), "spec_text": spec_text, "spec_file": spec_file, **fields}


def save_checkpoint(ckpt: dict[str, Any], path: str | Path) -> Path:
    """Write atomically: a temp file in the same folder (checksummed, read back and verified,
    fsynced), renamed over the target. On any failure the temp file goes and the target stays."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        with os.fdopen(fd, "w+b") as fh:
            torch.save(ckpt, fh)
            fh.flush()
            digest = _sha256(fh, fh.seek(0, os.SEEK_END))
            fh.write(MAGIC + digest.encode("ascii") + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        if verify_file(Path(tmp)) != digest:  # what the file system gives back is what we wrote
            raise OSError(f"{tmp} does not read back as written")
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _write_error(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - some filesystems refuse directory fsync
        pass
    return path


def _sha256(fh: Any, size: int) -> str:
    """SHA-256 of the first ``size`` bytes of an open binary file."""
    h = hashlib.sha256()
    fh.seek(0)
    left = size
    while left > 0:
        chunk = fh.read(min(left, 1 << 20))
        if not chunk:
            break
        h.update(chunk)
        left -= len(chunk)
    return h.hexdigest()


def verify_file(path: Path) -> str | None:
    """The file's checksum if its trailer is present and matches, None if it has no trailer;
    a TrainError (with the path and a hint) if the trailer does not match the contents."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size < TRAILER_LEN:
            return None
        fh.seek(size - TRAILER_LEN)
        tail = fh.read(TRAILER_LEN)
        if not tail.startswith(MAGIC) or not tail.endswith(b"\n"):
            return None
        want = tail[len(MAGIC):-1].decode("ascii", "replace")
        got = _sha256(fh, size - TRAILER_LEN)
    if got != want:
        raise TrainError("the checkpoint is corrupt: its SHA-256 does not match the one written with it",
                         location=Location.whole(path),
                         hint=_other_checkpoints(path, "the file changed after it was written (disk or copy error)"))
    return got


def not_regular(path: Path) -> str | None:
    """What ``path`` is when it is not a regular file (a FIFO would hang the read, a device never end)."""
    import stat

    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return None
    return "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else \
        "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def read_file(path: str | Path, map_location: Any = "cpu") -> Any:
    """Verify the checksum (when the file has one) and ``torch.load`` with ``weights_only=True``:
    tensors and plain types only, never arbitrary pickled objects."""
    return _read(Path(path), map_location)[0]


def _read(path: Path, map_location: Any) -> tuple[Any, bool]:
    """(the loaded object, whether the file carried a checksum)."""
    try:
        kind = not_regular(path)
        if kind:
            raise TrainError(f"the checkpoint is {kind}, not a file", location=Location.whole(path),
                             hint="give a .pt file or a run directory")
        has_checksum = verify_file(path) is not None
    except OSError as exc:
        raise TrainError(f"cannot read checkpoint: {exc.strerror or exc}", location=Location.whole(path)) from None
    try:
        return torch.load(path, map_location=map_location, weights_only=True), has_checksum
    except Exception as exc:  # noqa: BLE001 - corrupt files raise many kinds
        first = (str(exc).strip().splitlines() or [""])[0].split(". ")[0][:200]
        raise TrainError(f"cannot read checkpoint: {type(exc).__name__}: {first}", location=Location.whole(path),
                         hint=_other_checkpoints(path, "the file is truncated, corrupt or not a checkpoint")) from None


def run_checkpoint(path: str | Path, purpose: str = "weights") -> Path:
    """The file a checkpoint argument means. A file is itself. A run directory means, for
    ``purpose="resume"``, its ``last.pt`` (where the run stopped); for ``"weights"`` (evaluate,
    predict, export, generate, sample, pretrained) the weights the run *reported*: ``best.pt`` when
    the run restores its best epoch (``train.early_stopping.restore_best``), else ``last.pt``."""
    path = Path(path)
    if not path.is_dir():
        return path
    if purpose == "resume" or not restores_best(path):
        return path / "last.pt"
    best = path / "best.pt"
    if not best.is_file() and (path / "last.pt").is_file():
        raise TrainError("this run reports its best epoch's weights, but it kept no best.pt (train.checkpoint.best: false)",
                         location=Location.whole(path),
                         hint=f"give --checkpoint {path / 'last.pt'} to use the last epoch's weights")
    return best


def restores_best(run_dir: Path) -> bool:
    """Whether the run in ``run_dir`` ends with its best epoch's weights (read from its resolved
    spec.yaml, else from last.pt's spec text)."""
    import yaml

    text = None
    if (run_dir / "spec.yaml").is_file():
        try:
            text = (run_dir / "spec.yaml").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
    if text is None and (run_dir / "last.pt").is_file():
        text = str(load_checkpoint(run_dir / "last.pt").get("spec_text", ""))
    try:
        data = yaml.safe_load(text or "") or {}
    except yaml.YAMLError:
        data = {}
    es = ((data.get("train") or {}) if isinstance(data, dict) else {}).get("early_stopping")
    return isinstance(es, dict) and es.get("restore_best", True) is not False


def describe(ckpt: dict[str, Any]) -> str:
    """Which file and epoch a command used: ``runs/x/best.pt (epoch 21, best val.accuracy 0.9714)``."""
    where = ckpt.get("loaded_from", "the checkpoint")
    tracker = ckpt.get("tracker") or {}
    epoch = ckpt.get("epoch")
    what = f"epoch {epoch}" if isinstance(epoch, int) else "epoch unknown"
    if tracker.get("best_epoch") == epoch and isinstance(tracker.get("best"), float):
        what += f", best {tracker['monitor']} {tracker['best']:.4g}"
    return f"{where} ({what})"


def load_checkpoint(path: str | Path, map_location: Any = "cpu", purpose: str = "weights") -> dict[str, Any]:
    """Read a checkpoint (checksum verified; tensors and plain types only) and check its format.
    A run directory is resolved by ``run_checkpoint`` (``purpose``); the file read is recorded
    in the returned dict as ``loaded_from`` (never saved)."""
    path = run_checkpoint(path, purpose)
    if not path.is_file():
        raise TrainError("checkpoint not found", hint="give a .pt file or a run directory holding last.pt",
                         location=Location.whole(path))
    ckpt, has_checksum = _read(path, map_location)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise TrainError("not a netspec checkpoint", location=Location.whole(path),
                         hint="give a checkpoint that netspec train wrote (last.pt, best.pt) or its run directory")
    version = ckpt.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise TrainError(f"checkpoint format {version}; this netspec reads up to {FORMAT_VERSION}", location=Location.whole(path),
                         hint="upgrade netspec")
    if version >= CHECKSUM_SINCE and not has_checksum:
        raise TrainError("the checkpoint has lost its checksum trailer (the file was cut short or rewritten)",
                         location=Location.whole(path),
                         hint=_other_checkpoints(path, "it cannot be trusted"))
    if ckpt.get("sharded"):  # an FSDP run's: the tensors are in a torch.distributed.checkpoint folder beside it
        fill_sharded(ckpt, path)
    ckpt["loaded_from"] = str(path)
    return ckpt


def _other_checkpoints(path: Path, why: str) -> str:
    others = sorted(p.name for p in path.parent.glob("*.pt") if p.name != path.name) if path.parent.is_dir() else []
    where = f"; other checkpoints here: {', '.join(others)}" if others else ""
    return f"{why}; resume from another checkpoint or start the run again{where}"


def _write_error(path: Path, exc: OSError) -> TrainError:
    kept = f"; the previous {path.name} is kept" if path.is_file() else ""
    return TrainError(f"cannot write checkpoint: {exc.strerror or exc}", location=Location.whole(path),
                      hint=f"free disk space or choose another run directory (--out){kept}")


def _remove_stale_temps(path: Path) -> None:
    """Temp files a killed writer left behind (``.last.pt.XXXX.tmp``)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
