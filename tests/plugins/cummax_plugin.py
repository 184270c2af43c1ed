"""`netspec --plugin cummax_plugin ...` (with tests/plugins on PYTHONPATH) registers CumMax."""

from cummax_layer import CumMax

from netspec.layers import register

register(CumMax)
