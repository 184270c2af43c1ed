"""The ``seq2seq`` program: an encoder-decoder trained with teacher forcing.

The model's ``decoder_input`` takes the target prefix (``<sos> y1 … y_{T-1}``) and it returns (T, V)
logits; the target field is ``tgt_out`` (``y1 … y_T <eos>``); the teacher forcing ratio mixes the
model's own predictions into the prefix; evaluation decodes (greedy or beam) and logs the
exact-match rate. Special token ids lie inside the vocabulary.
"""

from typing import Any, ClassVar, Literal, Optional

from pydantic import Field

from ..errors import SpecError, SpecPath
from ..strict import NonNegInt, StrictModel
from .base import PROGRAMS, Planner, ProgramSpec
from .decoding import Decoding, check_decoding
from .plan import TrainPlan
from .rules import logits_2d, output_path, own_task_plan, token_input, warn


class SpecialTokens(StrictModel):
    """Token ids of the special tokens (the `sequence_task` source's vocabulary: <pad> 0, <sos> 1, <eos> 2)."""
    pad: NonNegInt = Field(0, description="Padding (ignored by the loss and the metrics).")
    sos: NonNegInt = Field(1, description="Start of sequence: the first decoder input.")
    eos: NonNegInt = Field(2, description="End of sequence: decoding stops after it.")


@PROGRAMS.register
class Seq2SeqProgram(ProgramSpec):
    """Encoder-decoder training with teacher forcing; greedy or beam decoding at evaluation (exact match)."""
    type: Literal["seq2seq"]
    decoder_input: str = Field("tgt_in", description="The model input that takes the target prefix (<sos> y1 … y_{T-1}).")
    teacher_forcing_ratio: float = Field(
        1.0, ge=0, le=1, description="Share of decoder input tokens taken from the target; the others are the model's "
                                     "own previous predictions (1: always teacher forcing).")
    special_tokens: SpecialTokens = Field(default_factory=SpecialTokens)
    decode: Decoding = Field(default_factory=Decoding, description="Decoding at evaluation: greedy or beam.")

    EXAMPLE: ClassVar[str] = "{type: seq2seq, teacher_forcing_ratio: 0.9, decode: {strategy: beam, beam_size: 3}}"
    runtime: ClassVar[str] = "netspec.train.programs.seq2seq:Seq2Seq"
    mode: ClassVar[Optional[str]] = "seq2seq"
    distributed: ClassVar[bool] = True
    vocab_logits: ClassVar[bool] = True

    def plan(self, planner: Planner) -> Optional[TrainPlan]:
        plan, found = own_task_plan(planner)
        if found is not None:
            self._check(planner.spec.train, *found, planner.errors, planner.warnings)
        return plan

    def _check(self, train: Any, graph: Any, out_name: str, out: Any, errors: list[SpecError], warnings: list[SpecError]) -> None:
        base: SpecPath = ("train", "program")
        name = self.decoder_input
        if name not in graph.inputs:
            errors.append(SpecError(f"decoder_input {name!r} is not a model input", path=base + ("decoder_input",),
                                    hint=f"model inputs: {', '.join(graph.inputs)}"))
            return
        if not token_input(graph, name, base + ("decoder_input",), "decoder input", errors):
            return
        if not logits_2d(graph, out_name, out, "a seq2seq model", errors):
            return
        steps, vocab = graph.inputs[name].shape[0], out.shape[-1]
        if out.shape[0] != steps:
            errors.append(SpecError(f"output {out_name!r} has {out.shape[0]} steps, the decoder input {name!r} {steps}",
                                    path=output_path(graph, out_name), hint="the decoder returns one logit row per input step"))
        tokens = self.special_tokens
        for key in ("pad", "sos", "eos"):
            if getattr(tokens, key) >= vocab:
                errors.append(SpecError(f"special token {key} = {getattr(tokens, key)} is outside the vocabulary of {vocab} "
                                        "tokens", path=base + ("special_tokens", key), hint=f"ids are 0…{vocab - 1}"))
        if len({tokens.pad, tokens.sos, tokens.eos}) < 3:
            errors.append(SpecError("pad, sos and eos must be three different tokens", path=base + ("special_tokens",)))
        if self.decode.strategy == "sample":
            errors.append(SpecError("evaluation decodes with greedy or beam search, not sampling", path=base + ("decode", "strategy"),
                                    hint="the exact-match rate of random draws is not a stable metric"))
        check_decoding(self.decode, vocab, base + ("decode",), errors, warnings)
        for i, loss in enumerate(train.loss or []):
            ignore = getattr(loss, "ignore_index", None)
            if ignore is not None and ignore != tokens.pad:
                where = ("train", "loss", i) + (("ignore_index",) if "ignore_index" in loss.model_fields_set else ())
                warnings.append(warn(f"the loss ignores token {ignore}, but padding is token {tokens.pad}: padded steps are "
                                     "learned as targets", where, f"set ignore_index: {tokens.pad}"))
