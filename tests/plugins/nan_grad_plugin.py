"""`netspec --plugin nan_grad_plugin ...` (with tests/plugins on PYTHONPATH) registers NanGrad."""

from nan_grad_layer import NanGrad

from netspec.layers import register

register(NanGrad)
