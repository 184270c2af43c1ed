"""The loss registry: one class per loss (schema, docs, planning rules, builder), grouped by family.

Adding a loss is one class in one of these modules (or a new module added to the list below) with
``@LOSSES.register``; the spec's union, the schema, the docs, the planner and the tests follow.
Importing this package does not import torch.
"""

# the families, in the order of the schema's union and the docs (one line per module)
from . import regression  # noqa: F401, I001  (registration order is the union's and the docs')
from . import classification  # noqa: F401
from . import pairs  # noqa: F401
from . import segmentation  # noqa: F401
from .base import LOSSES, MODES, Loss, LossContext, LossFn, fitting

__all__ = ["LOSSES", "MODES", "Loss", "LossContext", "LossFn", "fitting"]
