"""Programs: what one training step does with the spec's model(s), loss(es) and optimizer(s).

One module per program, each a ``TrainProgram`` (``base``: the interface, required methods and
optional capabilities with their defaults) built from one ``ProgramContext``. The program's spec
class in ``netspec.programs`` names its module (``runtime``), so nothing here lists programs:
``runtime_class(train.program)`` imports the one a run needs.
"""

from .base import Batch, ProgramContext, TrainProgram, runtime_class

__all__ = ["Batch", "ProgramContext", "TrainProgram", "runtime_class"]
