"""Learning-rate schedules: one class per schedule in its own module, registered in ``SCHEDULES``.

Adding one is a module here with its class (see ``base.Schedule`` for what it declares) and one
import line below. The trainer's side (warm-up, when to advance, checkpoint state) is
``netspec.train.schedules``. No torch at module level (``netspec validate`` stays torch-free).
"""

from .base import Schedule
from .registry import SCHEDULES

# the schedule modules, in the order of the docs and listings (each registers its class)
from . import constant, step, multistep, exponential, cosine, cosine_warm_restarts, one_cycle, cyclic  # noqa: E402,F401  isort: skip
from . import reduce_on_plateau  # noqa: E402,F401  isort: skip
from . import inverse_time  # noqa: E402,F401  isort: skip

__all__ = ["SCHEDULES", "Schedule"]
