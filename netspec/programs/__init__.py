"""Training programs (``train.program``): one class per program in one module of this package,
carrying its schema, documentation, example, planning rules, capabilities and the name of its
torch implementation (see ``base``). Torch-free: ``netspec validate`` plans every program.

Adding a program: a module here with a ``@PROGRAMS.register`` class, one import line below, and a
``netspec.train.programs`` module with its ``TrainProgram``.
"""

from .base import PROGRAMS, Planner, ProgramSpec
from .plan import LossBinding, TrainPlan, monitor_mode

# the program modules, in registration order (the union's and the docs' order; each registers its class)
# isort: off
from . import supervised  # noqa: F401  (the default)
from . import language_model  # noqa: F401
from . import seq2seq  # noqa: F401
from . import segmentation  # noqa: F401
from . import autoencoder  # noqa: F401
from . import vae  # noqa: F401
from . import gan  # noqa: F401
from . import contrastive  # noqa: F401
from . import perceptron  # noqa: F401
from . import distill  # noqa: F401
# isort: on

__all__ = ["PROGRAMS", "LossBinding", "Planner", "ProgramSpec", "TrainPlan", "monitor_mode"]
