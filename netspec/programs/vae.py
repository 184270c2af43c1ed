"""The ``vae`` program: the encoder model returns mu and logvar (and optionally the sampled z), the
decoder model maps z back; the loss per sample is reconstruction (summed over values) + beta · KL.

Rules: both models exist (and no other), mu/logvar are encoder outputs of one shape that match the
decoder's input, and the decoder's output has the encoder input's shape.
"""

from typing import ClassVar, Literal, Optional

from pydantic import Field

from ..errors import SpecError
from .base import PROGRAMS, Planner, ProgramSpec
from .plan import TrainPlan
from .rules import PROGRAM, RANGES, final_tag, fmt_shape, input_path, named_models, output_node, output_path, own_loss, warn


@PROGRAMS.register
class VaeProgram(ProgramSpec):
    """Encoder → (mu, logvar) → z = mu + σ·ε → decoder; loss = reconstruction + beta · KL(q(z|x) ‖ N(0, I))."""
    type: Literal["vae"]
    encoder: str = Field("encoder", description="The model mapping data to mu and logvar.")
    decoder: str = Field("decoder", description="The model mapping z back to data.")
    mu: str = Field("mu", description="The encoder output with the posterior mean.")
    logvar: str = Field("logvar", description="The encoder output with the posterior log-variance.")
    z: Optional[str] = Field(
        None, description="The encoder output with the sample (a `reparameterize` node); default: `z` if the encoder "
                          "returns it, else the program draws z = mu + exp(logvar / 2)·ε itself.")
    output: Optional[str] = Field(None, description="The decoder output compared with the input (default: its first).")
    reconstruction: Literal["bce", "bce_with_logits", "mse"] = Field(
        "bce", description="bce: the decoder ends in a sigmoid and data lie in [0, 1]; mse: Gaussian likelihood.")
    beta: float = Field(1.0, ge=0, description="Weight of the KL term (β-VAE: > 1).")
    beta_warmup_epochs: float = Field(
        0.0, ge=0, description="KL annealing: β grows linearly from 0 to `beta` over these many epochs (per optimizer "
                               "step), so the decoder learns to use z before the KL term pulls the code to the prior "
                               "(against posterior collapse; Bowman et al. 2016). Validation uses the full `beta`.")

    EXAMPLE: ClassVar[str] = "{type: vae, beta: 0.5, reconstruction: mse}"
    runtime: ClassVar[str] = "netspec.train.programs.vae:Vae"
    distributed: ClassVar[bool] = True

    def plan(self, planner: Planner) -> Optional[TrainPlan]:
        spec, graphs, errors, warnings = planner.spec, planner.graphs, planner.errors, planner.warnings
        before = len(errors)
        enc, dec = named_models(spec, graphs, self, ("encoder", "decoder"), errors)
        own_loss(spec, errors)
        if enc is None or dec is None:
            return None
        outs = enc.output_types()
        for key in ("mu", "logvar") + (("z",) if self.z else ()):
            name = getattr(self, key)
            if name not in outs:
                errors.append(SpecError(f"{key} names {name!r}, which encoder {enc.name!r} does not return",
                                        path=PROGRAM + (key,), hint=f"outputs: {', '.join(outs)}"))
        if len(enc.inputs) != 1:
            errors.append(SpecError(f"the vae encoder takes one input (the data); {enc.name!r} has {len(enc.inputs)}",
                                    path=enc.path, hint="give the encoder one input"))
        if len(dec.inputs) != 1:
            errors.append(SpecError(f"the vae decoder takes one input (z); {dec.name!r} has {len(dec.inputs)}",
                                    path=dec.path, hint="give the decoder one input"))
        dec_out = self.output or next(iter(dec.output_types()))
        if dec_out not in dec.output_types():
            errors.append(SpecError(f"output names {dec_out!r}, which decoder {dec.name!r} does not return",
                                    path=PROGRAM + ("output",), hint=f"outputs: {', '.join(dec.output_types())}"))
        if len(errors) > before:
            return None
        mu, logvar = outs[self.mu].shape, outs[self.logvar].shape
        z_name, z_type = next(iter(dec.inputs.items()))
        if tuple(mu) != tuple(logvar):
            errors.append(SpecError(f"mu {fmt_shape(mu)} and logvar {fmt_shape(logvar)} must have one shape",
                                    path=output_path(enc, self.logvar), hint="give both heads the same out_features"))
        if tuple(z_type.shape) != tuple(mu):
            errors.append(SpecError(f"decoder input {z_name!r} has shape {fmt_shape(z_type.shape)}, but mu is {fmt_shape(mu)}",
                                    path=input_path(spec, dec.name, z_name) + ("shape",), hint=f"set its shape to {list(mu)}"))
        data_name, data_type = next(iter(enc.inputs.items()))
        got = dec.output_types()[dec_out].shape
        if tuple(got) != tuple(data_type.shape):
            errors.append(SpecError(f"decoder output {dec_out!r} has shape {fmt_shape(got)}, but the encoder input "
                                    f"{data_name!r} has {fmt_shape(data_type.shape)}", path=output_path(dec, dec_out),
                                    hint=f"end the decoder with `reshape: {{shape: {list(data_type.shape)}}}`"))
        tag = final_tag(output_node(dec, dec_out))
        if self.reconstruction == "bce" and tag != "sigmoid":
            warnings.append(warn("reconstruction bce reads probabilities, but the decoder output does not end in a sigmoid",
                                 PROGRAM + ("reconstruction",), "add `activation: sigmoid`, or use bce_with_logits"))
        if self.reconstruction == "bce_with_logits" and tag == "sigmoid":
            warnings.append(warn("the decoder output ends in a sigmoid, and bce_with_logits applies it again",
                                 PROGRAM + ("reconstruction",), "use reconstruction: bce, or drop the sigmoid"))
        plan = planner.common(enc, "reconstruction", ["reconstruction", "kl"])
        plan.roles = {"data": data_name, "z": self.z or ("z" if "z" in outs else None), "output": dec_out,
                      "z_shape": list(mu), "range": RANGES.get(tag or "")}
        return plan
