"""Moved to ``netspec.checkpoint.weights``. This name stays only for ``train/samples.py`` until
that module imports the new one."""

from ..checkpoint.weights import check_same_models, load_weights

__all__ = ["check_same_models", "load_weights"]
