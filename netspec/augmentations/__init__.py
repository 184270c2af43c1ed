"""The augmentation registry: one module per augmentation, registered when imported (the list below).

Adding an augmentation is one class in one module here plus its import line below; the
``data.augment`` schema (``netspec.spec.data``), ``netspec schema`` and
tests/test_component_augmentations.py derive from ``AUGMENTATIONS``. An unknown tag raises.
"""

from .base import AUGMENTATIONS, Augmentation

# registration order = the schema union's order
from . import hflip  # noqa: E402,F401
from . import vflip  # noqa: E402,F401
from . import rotation  # noqa: E402,F401
from . import crop  # noqa: E402,F401
from . import affine  # noqa: E402,F401
from . import color_jitter  # noqa: E402,F401
from . import noise  # noqa: E402,F401
from . import random_erasing  # noqa: E402,F401
from . import gaussian_blur  # noqa: E402,F401

__all__ = ["AUGMENTATIONS", "Augmentation"]
