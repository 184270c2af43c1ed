"""Initializer schema: the ``init:`` values of a spec (plain pydantic, no torch).

A node's ``init`` maps parameter-name globs to initializers::

    init: {weight: kaiming_normal, bias: zeros}
    init: {weight: {type: kaiming_normal, mode: fan_out, nonlinearity: relu}, "weight_hh*": orthogonal}

and the model's ``init`` gives defaults per layer type (``{conv2d: {weight: kaiming_normal}}``).
Lookup order for a parameter: the node's own globs, then the model's defaults for the node's
layer type; if neither matches, a bias is zeroed and anything else keeps PyTorch's default.
The initializers themselves (schema, documentation, torch code) are the classes registered in
``netspec.initializers``; ``netspec.init`` applies them to tensors.
"""

from typing import TYPE_CHECKING

from ..initializers import INITIALIZERS

if TYPE_CHECKING:  # a registry's union is built at import time; the checker sees the base class
    from ..initializers.base import Initializer
else:
    Initializer = INITIALIZERS.union("An initializer: a name (`zeros`) or {type: name, ...arguments}.")
#: parameter-name glob -> initializer, e.g. {weight: kaiming_normal, bias: zeros}
InitMap = dict[str, Initializer]
