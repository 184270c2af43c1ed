"""The checkpoint format moved to ``netspec.checkpoint`` (the leaf that training and export both
import). This name stays only for ``train/samples.py`` until that module imports the new one."""

from ..checkpoint import describe, load_checkpoint

__all__ = ["describe", "load_checkpoint"]
