"""The ``autoencoder`` program: the target is the input.

``noise`` corrupts the input only (denoising), and ``sparsity`` adds an L1 or KL penalty on a named
node's activations (sparse autoencoder). The reconstruction loss is ``train.loss`` (default mse).
The plan is the supervised one with the reconstruction task; the reconstruction has its input's
shape, input noise needs a float input, the sparsity node exists (KL: sigmoid units).
"""

from typing import TYPE_CHECKING, Any, ClassVar, Literal, Optional, Union

from pydantic import Field

from ..diagnostics import did_you_mean
from ..errors import SpecError
from ..strict import PositiveFloat, StrictModel, tagged
from .base import PROGRAMS, Planner, ProgramSpec
from .plan import TrainPlan
from .rules import PROGRAM, final_tag, fmt_shape, output_path, warn


class GaussianInputNoise(StrictModel):
    """x + N(0, std²), drawn anew for every training batch."""
    type: Literal["gaussian"]
    std: PositiveFloat = Field(0.1, description="Standard deviation of the added noise (in preprocessed units).")


class MaskingInputNoise(StrictModel):
    """Each input value is replaced by `value` with probability p; kept values are not rescaled."""
    type: Literal["masking"]
    p: float = Field(0.25, gt=0, lt=1, description="Share of input values masked.")
    value: float = Field(0.0, description="What a masked value becomes.")


if TYPE_CHECKING:  # the union itself, for the type checker; pydantic gets the tagged (discriminated) form
    InputNoise = Union[GaussianInputNoise, MaskingInputNoise]
else:
    InputNoise = tagged(Union[GaussianInputNoise, MaskingInputNoise], "Corruption of the input (training only).")


class L1Sparsity(StrictModel):
    """weight · Σ_j |a_j| per sample (mean over the batch), a the node's activations."""
    type: Literal["l1"]
    node: str = Field(description="The node whose activations are penalized (e.g. the code layer).")
    weight: PositiveFloat = Field(1e-3, description="λ.")


class KlSparsity(StrictModel):
    """weight · Σ_j KL(ρ ‖ ρ̂_j), ρ̂_j the batch mean of unit j's activation (which must lie in (0, 1): sigmoid)."""
    type: Literal["kl"]
    node: str = Field(description="The node whose activations are penalized (sigmoid units).")
    rho: float = Field(0.05, gt=0, lt=1, description="Target mean activation ρ.")
    weight: PositiveFloat = Field(1.0, description="β, the weight of the penalty.")


if TYPE_CHECKING:
    Sparsity = Union[L1Sparsity, KlSparsity]
else:
    Sparsity = tagged(Union[L1Sparsity, KlSparsity], "A sparsity penalty on a named node's activations.")


@PROGRAMS.register
class AutoencoderProgram(ProgramSpec):
    """Reconstruct the input: plain, denoising (`noise`) or sparse (`sparsity`)."""
    type: Literal["autoencoder"]
    noise: Optional[InputNoise] = Field(None, description="Corrupt the input (not the target) while training.")
    sparsity: Optional[Sparsity] = None

    EXAMPLE: ClassVar[str] = "{type: autoencoder, noise: {type: gaussian, std: 0.2}}"
    runtime: ClassVar[str] = "netspec.train.programs.autoencoder:Autoencoder"
    distributed: ClassVar[bool] = True

    def check_distributed(self, errors: list[SpecError]) -> None:
        if self.sparsity is not None:
            errors.append(SpecError("a sparse autoencoder reads its node outside the wrapped model, so its gradients would "
                                    "not be averaged across processes", path=("train", "distributed"), at_key=True,
                                    hint="train it on one process, or drop train.program.sparsity"))

    def plan(self, planner: Planner) -> Optional[TrainPlan]:
        """The supervised plan with the reconstruction task, plus the noise and sparsity rules."""
        train, errors = planner.spec.train, planner.errors
        if "task" in train.model_fields_set and train.task.type != "reconstruction":
            errors.append(SpecError(f"the autoencoder program reconstructs its input; task {train.task.type!r} does not "
                                    "apply", path=("train", "task"), hint="drop train.task"))
        plan = planner.supervised(task="reconstruction")
        if plan is None:
            return None
        plan.program = self
        graph = next(iter(planner.graphs.values()))
        first = next(iter(graph.inputs))
        out_types = graph.output_types()
        for b in plan.losses:
            if b.target is None and b.outputs and b.outputs[0] in out_types:
                got, want = out_types[b.outputs[0]].shape, graph.inputs[first].shape
                if tuple(got) != tuple(want):
                    errors.append(SpecError(f"reconstruction {b.outputs[0]!r} has shape {fmt_shape(got)}, but input "
                                            f"{first!r} has {fmt_shape(want)}", path=output_path(graph, b.outputs[0]),
                                            hint=f"end the decoder with `reshape: {{shape: {list(want)}}}`"))
        if self.noise is not None and graph.inputs[first].dtype != "float32":
            errors.append(SpecError(f"input noise needs a float input; {first!r} is {graph.inputs[first].dtype}",
                                    path=PROGRAM + ("noise",), hint="corrupt token inputs with a dropout on their embeddings"))
        if self.sparsity is not None:
            self._sparsity_node(graph, errors, planner.warnings)
            plan.logged += [f"{s}.{k}" for k in ("sparsity", "mean_activation") for s in ("train", "val")]
        return plan

    def _sparsity_node(self, graph: Any, errors: list[SpecError], warnings: list[SpecError]) -> None:
        sparsity = self.sparsity
        if sparsity is None:
            return
        names = [n.name for n in graph.nodes]
        path = PROGRAM + ("sparsity", "node")
        if sparsity.node not in names:
            errors.append(SpecError(f"sparsity node {sparsity.node!r} is not a node of the model", path=path,
                                    hint=did_you_mean(sparsity.node, names) or f"nodes: {', '.join(names[:12])}"))
            return
        if sparsity.type == "kl" and final_tag(graph.node(sparsity.node)) != "sigmoid":
            warnings.append(warn(f"KL sparsity compares mean activations with rho, so {sparsity.node!r} should output "
                                 "values in (0, 1)", path, "give the node `activation: sigmoid`, or use type: l1"))
