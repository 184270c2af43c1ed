"""The checkpoint format: one self-describing file per save, written atomically, read with weights_only.

A checkpoint is a dict of tensors and plain types only::

    format: "netspec.checkpoint", format_version: 2, netspec_version, torch_version,
    spec_text        the resolved spec (canonical YAML): the model can be rebuilt from it alone
    spec_file        where the spec was read from (informational; data paths are relative to it)
    models           {model name: state_dict}
    optimizers       {model name: optimizer state_dict}
    schedules        {model name: Schedule.state_dict()}
    scaler           GradScaler state_dict or None
    epoch, step      completed epochs and optimizer steps (of the first model)
    steps            {model name: optimizer steps}
    program          the program's own state (e.g. a GAN's step counter, a pair sampler's RNG) or None
    rng              python / numpy / torch (/ cuda) / data-order generator states
    preprocess       fitted preprocessing (scalers, categories, vocabulary, class labels)
    metrics          the metrics row of the last completed epoch
    tracker          early stopping / best-metric state {monitor, mode, best, best_epoch, bad_epochs}
    overrides        the command-line overrides the run was started with (``--set``, ``--epochs``);
                     ``--resume`` applies them again (``netspec.train.resume``)
    sharded          (FSDP runs only) the folder beside the file that holds models and optimizers
                     (torch.distributed.checkpoint); ``load_checkpoint`` reads it into full state dicts

    position         (only in a checkpoint written when a run was stopped mid-epoch by a signal)
                     where in the epoch it stopped; see ``netspec.train.signals``

On disk: ``torch.save``'s zip archive followed by an 81-byte trailer, ``\nNETSPEC-SHA256:<hex>\n``,
the SHA-256 of the archive (format 2; PyTorch's zip reader ignores trailing bytes, so
``torch.load(path, weights_only=True)`` still reads the file, and torch itself checks no
checksum: a flipped byte inside a tensor loads silently without this one). Writes go to a temp
file in the same folder that is read back and verified before it is fsynced and renamed over the
target, so a crash, a full disk or a bad write never replaces a good checkpoint.

``load_checkpoint(path)`` verifies the checksum and the format; ``rebuild_models(ckpt)`` compiles
the model(s) from ``spec_text`` and loads their weights (no spec file or data needed);
``check_same_models`` / ``load_weights`` put a checkpoint's weights into the models of a spec.

This package is where training and export meet (with the compiled module): both import it, it
imports neither (``tests/test_layering.py``). ``file`` reads and writes the file, ``sharded``
reads an FSDP run's shard folder, ``rebuild`` and ``weights`` turn it back into models.
"""
from .file import (
                   CHECKSUM_SINCE,
                   FORMAT,
                   FORMAT_VERSION,
                   MAGIC,
                   TRAILER_LEN,
                   describe,
                   load_checkpoint,
                   netspec_version,
                   new_checkpoint,
                   read_file,
                   restores_best,
                   run_checkpoint,
                   save_checkpoint,
                   verify_file,
)
from .rebuild import checked_from_checkpoint, rebuild_models
from .weights import check_same_models, load_weights

__all__ = ["CHECKSUM_SINCE", "FORMAT", "FORMAT_VERSION", "MAGIC", "TRAILER_LEN", "check_same_models",
           "checked_from_checkpoint", "describe", "load_checkpoint", "load_weights", "netspec_version",
           "new_checkpoint", "read_file", "rebuild_models", "restores_best", "run_checkpoint", "save_checkpoint",
           "verify_file"]
