"""The augmentation registry: one module per augmentation, registered when imported (the list below).

Adding an augmentation is one class in one module here plus its import line below; the
``data.augment`` schema (``netspec.spec.data``), ``netspec schema`` and
tests/test_component_augmentations.py derive from ``AUGMENTATIONS``. An unknown tag raises.
"""

# ruff: noqa: I001  (the module list below is the registration order, kept as written)

from .base import AUGMENTATIONS, Augmentation

# registration order = the schema union's order
from . import hflip  # noqa: F401
from . import vflip  # noqa: F401
from . import rotation  # noqa: F401
from . import crop  # noqa: F401
from . import affine  # noqa: F401
from . import color_jitter  # noqa: F401
from . import noise  # noqa: F401
from . import random_erasing  # noqa: F401
from . import gaussian_blur  # noqa: F401

__all__ = ["AUGMENTATIONS", "Augmentation"]
