"""The spec document model (strict pydantic) and loading (extends, --set)."""

from .document import SPEC_VERSION, Spec
from .load import CMDLINE, LoadedSpec, load_data, load_spec, parse_path

__all__ = ["CMDLINE", "SPEC_VERSION", "LoadedSpec", "Spec", "load_data", "load_spec", "parse_path"]
