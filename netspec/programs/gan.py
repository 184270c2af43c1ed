"""The ``gan`` program: a generator and a discriminator (a logit, or a critic score) with their own
optimizers; ``d_steps`` discriminator steps per generator step; a ``condition`` input (class
labels) turns it into a conditional GAN.

Rules: both models exist (and no other); the generator reads the noise (and the condition) only and
its output fits the discriminator's sample input; the discriminator returns one score per sample;
the condition is an int64 input of both. Likely mistakes (a sigmoid before a logit loss, batch norm
in a WGAN-GP critic) are warnings.
"""

from typing import TYPE_CHECKING, Any, ClassVar, Literal, Optional, Union, cast

from pydantic import Field

from ..errors import SpecError
from ..strict import NonNegInt, PositiveFloat, PositiveInt, StrictModel, tagged
from .base import PROGRAMS, Planner, ProgramSpec
from .plan import TrainPlan
from .rules import PROGRAM, RANGES, final_tag, fmt_shape, input_path, named_models, output_node, output_path, own_loss, warn


class Minimax(StrictModel):
    """D: −log D(x) − log(1 − D(G(z))); G minimizes log(1 − D(G(z))) (saturates early on)."""
    type: Literal["minimax"]


class NonSaturating(StrictModel):
    """D as minimax; G minimizes −log D(G(z)) (stronger gradients while D wins)."""
    type: Literal["non_saturating"]


class LeastSquares(StrictModel):
    """LSGAN (Mao et al. 2017): D: ½(D(x) − 1)² + ½D(G(z))²; G: ½(D(G(z)) − 1)² (raw outputs)."""
    type: Literal["least_squares"]


class Wgan(StrictModel):
    """WGAN (Arjovsky et al. 2017): critic D(G(z)) − D(x), G: −D(G(z)); critic weights clipped after each step."""
    type: Literal["wgan"]
    clip_value: PositiveFloat = Field(0.01, description="Critic weights are clamped to [-clip_value, clip_value].")


class WganGp(StrictModel):
    """WGAN-GP (Gulrajani et al. 2017): the WGAN losses plus penalty · (‖∇D(x̂)‖ − 1)² on interpolates x̂."""
    type: Literal["wgan_gp"]
    penalty: PositiveFloat = Field(10.0, description="λ, the weight of the gradient penalty.")


if TYPE_CHECKING:  # the union itself, for the type checker; pydantic gets the tagged (discriminated) form
    GanLoss = Union[Minimax, NonSaturating, LeastSquares, Wgan, WganGp]
else:
    GanLoss = tagged(Union[Minimax, NonSaturating, LeastSquares, Wgan, WganGp], "The adversarial losses of D and G.")


@PROGRAMS.register
class GanProgram(ProgramSpec):
    """A generator and a discriminator trained against each other, each with its own optimizer."""
    type: Literal["gan"]
    generator: str = Field("generator", description="The model mapping noise (and a condition) to samples.")
    discriminator: str = Field("discriminator", description="The model scoring samples: one logit (or critic score) each.")
    loss: GanLoss = Field(default_factory=lambda: NonSaturating(type="non_saturating"))
    d_steps: PositiveInt = Field(1, description="Discriminator steps (each on a new real batch) per generator step.")
    noise: Optional[str] = Field(None, description="The generator input fed with noise (default: its only float input).")
    distribution: Literal["normal", "uniform"] = Field("normal", description="Noise: N(0, 1) or U(−1, 1).")
    condition: Optional[str] = Field(
        None, description="An int64 input of both models fed with class labels (conditional GAN): the real labels for "
                          "real samples, the same labels for generated ones. Default: an int64 input both models have.")
    samples: NonNegInt = Field(64, description="Size of the fixed-noise sample grid saved each epoch (0: none).")

    EXAMPLE: ClassVar[str] = "{type: gan, loss: {type: wgan_gp, penalty: 5.0}, d_steps: 2, samples: 0}"
    runtime: ClassVar[str] = "netspec.train.programs.gan:Gan"

    def plan(self, planner: Planner) -> Optional[TrainPlan]:
        spec, graphs, errors, warnings = planner.spec, planner.graphs, planner.errors, planner.warnings
        before = len(errors)
        gen, disc = named_models(spec, graphs, self, ("generator", "discriminator"), errors)
        own_loss(spec, errors)
        if gen is None or disc is None:
            return None
        cond = self._condition(gen, disc, errors)
        noise = self._noise_input(gen, cond, errors)
        others = [n for n in gen.inputs if n not in (noise, cond)]
        if others:
            errors.append(SpecError(f"generator input {others[0]!r} is neither the noise nor the condition",
                                    path=input_path(spec, gen.name, others[0]), at_key=True,
                                    hint="a generator takes noise (and, conditional, class labels) only"))
        data_inputs = [n for n in disc.inputs if n != cond]
        if len(data_inputs) != 1:
            errors.append(SpecError(f"the discriminator takes one sample input (besides the condition); it has "
                                    f"{len(data_inputs)}", path=disc.path, hint="declare one input for the real/generated sample"))
        if len(errors) > before or noise is None:
            return None
        sample = data_inputs[0]
        g_out, g_type = next(iter(gen.output_types().items()))
        want = disc.inputs[sample].shape
        if tuple(g_type.shape) != tuple(want):
            errors.append(SpecError(f"generator output {g_out!r} has shape {fmt_shape(g_type.shape)}, but discriminator "
                                    f"input {sample!r} expects {fmt_shape(want)}", path=output_path(gen, g_out),
                                    hint="make the generator produce samples of the data's shape"))
        d_out, d_type = next(iter(disc.output_types().items()))
        if tuple(d_type.shape) not in ((), (1,)):
            errors.append(SpecError(f"the discriminator returns one score per sample; {d_out!r} has shape "
                                    f"{fmt_shape(d_type.shape)}", path=output_path(disc, d_out),
                                    hint="end with `linear: {out_features: 1}`"))
        loss = self.loss.type
        if loss in ("minimax", "non_saturating", "wgan", "wgan_gp") and final_tag(output_node(disc, d_out)) == "sigmoid":
            warnings.append(warn(f"the {loss} loss reads a logit (or critic score), but the discriminator ends in a sigmoid",
                                 output_path(disc, d_out), "drop the sigmoid"))
        if loss == "wgan_gp" and any(n.layer.tag.startswith("batch_norm") for n in disc.nodes):
            warnings.append(warn("the gradient penalty is per sample, and batch norm in the critic mixes samples",
                                 PROGRAM + ("loss",), "use layer_norm (or no normalization) in the discriminator"))
        mode = "multiclass" if cond else "generative"
        extra = ["d_loss", "g_loss"] + (["wasserstein"] if loss.startswith("wgan") else ["d_accuracy"])
        plan = planner.common(disc, mode, extra)
        plan.roles = {"noise": noise, "condition": cond, "sample": sample, "d_output": d_out, "g_output": g_out,
                      "noise_shape": list(gen.inputs[noise].shape), "range": RANGES.get(final_tag(output_node(gen, g_out)) or ""),
                      "num_classes": _num_embeddings(gen, cond)}
        if spec.train.early_stopping is None:  # the adversarial losses say nothing about sample quality:
            plan.monitor = None                # no best epoch, the run keeps (and reports) its last weights
        return plan

    def _condition(self, gen: Any, disc: Any, errors: list[SpecError]) -> Optional[str]:
        if self.condition is None:
            common = [n for n in gen.inputs if n in disc.inputs and gen.inputs[n].dtype == "int64"]
            return common[0] if common else None
        for graph in (gen, disc):
            t = graph.inputs.get(self.condition)
            if t is None or t.dtype != "int64":
                errors.append(SpecError(f"condition {self.condition!r} must be an int64 input (class labels) of "
                                        f"{graph.name!r}", path=PROGRAM + ("condition",),
                                        hint=f"{graph.name} inputs: {', '.join(graph.inputs)}"))
                return None
        if tuple(gen.inputs[self.condition].shape) != tuple(disc.inputs[self.condition].shape):
            errors.append(SpecError(f"condition {self.condition!r} has different shapes in the two models",
                                    path=PROGRAM + ("condition",), hint="one label per sample: shape []"))
        return self.condition

    def _noise_input(self, gen: Any, cond: Optional[str], errors: list[SpecError]) -> Optional[str]:
        candidates = [n for n, t in gen.inputs.items() if n != cond and t.dtype == "float32"]
        if self.noise is not None:
            if self.noise not in candidates:
                errors.append(SpecError(f"noise names {self.noise!r}, which is not a float input of {gen.name!r}",
                                        path=PROGRAM + ("noise",), hint=f"float inputs: {', '.join(candidates) or 'none'}"))
                return None
            return self.noise
        if len(candidates) != 1:
            errors.append(SpecError(f"cannot tell which generator input takes the noise ({len(candidates)} float inputs)",
                                    path=PROGRAM, hint="set train.program.noise"))
            return None
        return cast(str, candidates[0])


def _num_embeddings(graph: Any, name: Optional[str]) -> Optional[int]:
    """Classes of a condition input: num_embeddings of the embedding that reads it."""
    for node in graph.nodes:
        if name and node.layer.tag == "embedding" and any(v[:2] == ("input", name) for v in node.inputs):
            return cast(int, node.layer.num_embeddings)
    return None
