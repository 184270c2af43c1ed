"""Weight options shared by linear and convolution layers: weight normalization, spectral
normalization and DropConnect.

``weight_norm: true`` reparametrizes the weight as g·v/‖v‖ (Salimans & Kingma, 2016) with one
magnitude g per output unit; ``spectral_norm: true`` divides the weight by its largest singular
value, estimated by one power iteration per training step (Miyato et al., 2018). Both use
``torch.nn.utils.parametrizations``, so the state dict holds ``parametrizations.weight.original*``
and an initializer given for ``weight`` initializes the reparametrized weight.
"""

from typing import TYPE_CHECKING, Any

from pydantic import Field

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

WEIGHT_NORM = "Reparametrize the weight as g·v/‖v‖ with a learned magnitude per output unit (weight normalization)."
SPECTRAL_NORM = "Divide the weight by its spectral norm (largest singular value), estimated by power iteration."


def weight_norm_field() -> Any:
    return Field(False, description=WEIGHT_NORM)


def spectral_norm_field() -> Any:
    return Field(False, description=SPECTRAL_NORM)


def check_exclusive(layer: Any) -> Any:
    """Model validator body: the two normalizations replace the weight in different ways."""
    if layer.weight_norm and layer.spectral_norm:
        raise ValueError("choose weight_norm or spectral_norm, not both")
    return layer


def extra_params(layer: Any, weight_shape: tuple[int, ...], out_dim: int) -> int:
    """Parameters a weight option adds: weight_norm learns one magnitude per output unit."""
    return weight_shape[out_dim] if layer.weight_norm else 0


def apply(layer: Any, module: "nn.Module", out_dim: int) -> "nn.Module":
    """Register the chosen parametrization on ``module.weight`` (``out_dim``: its output-unit dim)."""
    from torch.nn.utils import parametrizations

    if layer.weight_norm:
        parametrizations.weight_norm(module, "weight", dim=out_dim)
    elif layer.spectral_norm:
        parametrizations.spectral_norm(module, "weight", dim=out_dim)
    return module
