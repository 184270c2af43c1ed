"""The interface every optimizer class declares, and what all of them share.

An optimizer is one pydantic class (``type: Literal["<tag>"]`` and its hyperparameters, named as
torch.optim names them) registered with ``@OPTIMIZERS.register``. Besides its schema it carries its
documentation (the docstring), ``EXAMPLE`` (a YAML flow mapping for the docs and the registry-wide
tests) and the rules the rest of netspec asks it about:

- ``build(params, impl)``: the ``torch.optim.Optimizer`` over ``params`` (tensors or param-group
  dicts); by default ``torch.optim.<torch_class>`` with ``torch_kwargs()``. torch is imported inside,
  so the schema stays torch-free;
- ``state_tensors()``: tensors of optimizer state per parameter, each of the parameter's size (the
  training-memory estimate of ``netspec summary`` and ``netspec validate``);
- ``fused`` / ``foreach``: whether torch.optim has a fused (one kernel for all parameters) or a
  foreach (batched per-tensor kernels) implementation; ``implementation(impl, device)`` resolves
  ``train.performance.optimizer_impl: auto`` with them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Literal, Optional

from pydantic import Field

from ..strict import FLOAT32_MAX, LearningRate, Pair, PositiveFloat, Probability, StrictModel

if TYPE_CHECKING:
    import torch


#: ``optimizer_impl`` -> torch.optim keyword arguments (``default``: torch's own choice)
IMPL_KWARGS: dict[str, dict[str, bool]] = {"fused": {"fused": True}, "foreach": {"foreach": True},
                                           "for_loop": {"foreach": False}, "default": {}}


class ParamGroup(StrictModel):
    """Parameters chosen by node-name globs (``backbone.*``), with their own lr / weight decay."""
    params: list[str] = Field(min_length=1, description="Globs over parameter names (node name + '.weight'/'.bias').")
    lr: Optional[LearningRate] = Field(None, description="Learning rate of these parameters (default: the optimizer's).")
    weight_decay: Optional[float] = Field(None, ge=0, le=FLOAT32_MAX,
                                          description="Weight decay of these parameters (default: the optimizer's).")


class Optimizer(StrictModel):
    """An optimizer of torch.optim over the model's parameter groups."""
    lr: LearningRate = Field(1e-3, description="Learning rate.")
    weight_decay: float = Field(0.0, ge=0, le=FLOAT32_MAX, description="Weight decay.")
    groups: list[ParamGroup] = Field(default=[], description="Parameter groups; the first match wins.")
    no_decay: list[Literal["bias", "norm"]] = Field(
        default=[], description="Exempt biases and/or normalization parameters from weight decay.")

    EXAMPLE: ClassVar[str] = ""
    #: the torch.optim class ``build`` constructs
    torch_class: ClassVar[str] = ""
    #: torch.optim has a fused (single-kernel) implementation
    fused: ClassVar[bool] = False
    #: torch.optim has a foreach (batched per-tensor) implementation
    foreach: ClassVar[bool] = True
    #: tensors of state per parameter with the default hyperparameters (``state_tensors`` refines it)
    state: ClassVar[int] = 2

    def torch_kwargs(self) -> dict[str, Any]:
        """The torch.optim keyword arguments (the hyperparameters; lists become tuples)."""
        kwargs = self.model_dump(exclude={"type", "groups", "no_decay"})
        return {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}

    def build(self, params: Iterable[Any], impl: str = "default") -> "torch.optim.Optimizer":
        """The torch optimizer over ``params``; ``impl``: fused, foreach, for_loop or default."""
        import torch

        optimizer: torch.optim.Optimizer = getattr(torch.optim, self.torch_class)(params, **self.torch_kwargs(),
                                                                                  **IMPL_KWARGS[impl])
        return optimizer

    def state_tensors(self) -> int:
        """Tensors of state per parameter (beyond the gradient), each of the parameter's size."""
        return self.state

    @classmethod
    def implementation(cls, impl: str, device_type: str) -> str:
        """``auto`` -> fused on CUDA where torch has it, foreach on CUDA otherwise, torch's default
        elsewhere (a CPU run steps as the plain path does); any other setting as it is."""
        if impl != "auto":
            return impl
        if device_type == "cuda":
            return "fused" if cls.fused else "foreach" if cls.foreach else "for_loop"
        return "default"


class AdamLike(Optimizer):
    """Adam's family: running averages of the gradient and its square."""
    betas: Pair[Probability] = Field([0.9, 0.999], description="Decay rates of the gradient's running average and "
                                                                 "of its square's.")
    eps: PositiveFloat = Field(1e-8, description="Added to the denominator for numerical stability.")
