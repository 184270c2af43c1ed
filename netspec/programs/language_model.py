"""The ``language_model`` program: next-token training on a token stream.

The supervised step with a fixed task: the target field is ``next`` (the tokens shifted by one);
perplexity and accuracy are logged; ``generate:`` holds the defaults of ``netspec generate``. The
model reads one int64 token sequence of symbolic length and returns (L, V) logits.
"""

from typing import Any, ClassVar, Literal, Optional

from pydantic import Field

from ..errors import SpecError
from ..strict import PositiveInt
from .base import PROGRAMS, Planner, ProgramSpec
from .decoding import Decoding, check_decoding
from .plan import TrainPlan
from .rules import logits_2d, own_task_plan, token_input


@PROGRAMS.register
class LanguageModelProgram(ProgramSpec):
    """Next-token training on a token stream (target: the `next` field); `netspec generate` decodes from it."""
    type: Literal["language_model"]
    context: Optional[PositiveInt] = Field(
        None, description="Tokens the model reads per generation step (default: the data's seq_len; older tokens drop out).")
    generate: Decoding = Field(default_factory=Decoding, description="Defaults for `netspec generate` (its options override them).")

    EXAMPLE: ClassVar[str] = "{type: language_model, generate: {strategy: sample, temperature: 0.8, top_k: 5}}"
    runtime: ClassVar[str] = "netspec.train.programs.language_model:LanguageModel"
    mode: ClassVar[Optional[str]] = "language_model"
    distributed: ClassVar[bool] = True
    vocab_logits: ClassVar[bool] = True

    def plan(self, planner: Planner) -> Optional[TrainPlan]:
        plan, found = own_task_plan(planner)
        if found is not None:
            self._check(*found, planner.errors, planner.warnings)
        return plan

    def _check(self, graph: Any, out_name: str, out: Any, errors: list[SpecError], warnings: list[SpecError]) -> None:
        names = list(graph.inputs)
        if len(names) != 1:
            errors.append(SpecError(f"a language model reads one token sequence; this model has {len(names)} inputs "
                                    f"({', '.join(names)})", path=graph.path,
                                    hint="generation feeds the tokens so far as the only input"))
        elif token_input(graph, names[0], ("inputs", names[0]), "the language model's input", errors):
            length = graph.inputs[names[0]].shape[0]
            if isinstance(length, int):
                errors.append(SpecError(f"the token input {names[0]!r} has a fixed length {length}; generation feeds "
                                        "prompts of any length", path=("inputs", names[0], "shape"),
                                        hint="use a symbolic length: shape: [seq]"))
        if logits_2d(graph, out_name, out, "a language model", errors):
            check_decoding(self.generate, out.shape[-1], ("train", "program", "generate"), errors, warnings)
