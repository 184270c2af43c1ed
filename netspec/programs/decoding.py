"""Decoding settings shared by the ``language_model`` and ``seq2seq`` programs, and their rules."""

from typing import Literal, Optional

from pydantic import Field

from ..errors import SpecError, SpecPath
from ..strict import PositiveInt, StrictModel
from .rules import warn

SAMPLING_ONLY = ("temperature", "top_k", "top_p")


class Decoding(StrictModel):
    """How tokens are chosen one at a time: greedy (argmax), beam search, or sampling."""
    strategy: Literal["greedy", "beam", "sample"] = Field("greedy", description="greedy, beam or sample.")
    max_tokens: Optional[PositiveInt] = Field(
        None, description="Tokens to generate (language model: default 200; seq2seq: the target length).")
    beam_size: PositiveInt = Field(4, description="beam: hypotheses kept per step.")
    length_penalty: float = Field(
        0.0, description="beam: a hypothesis scores log P / length ** length_penalty (0: total log-probability, 1: per token).")
    temperature: float = Field(1.0, ge=0, description="sample: logits are divided by it (0: greedy).")
    top_k: Optional[PositiveInt] = Field(None, description="sample: draw from the k most probable tokens only.")
    top_p: Optional[float] = Field(
        None, gt=0, le=1, description="sample (nucleus): draw from the smallest set of most probable tokens whose probability reaches p.")
    seed: int = Field(0, description="sample: seed of the draws.")


def check_decoding(d: Decoding, vocab: int, path: SpecPath, errors: list[SpecError], warnings: list[SpecError]) -> None:
    if d.top_k is not None and d.top_k > vocab:
        errors.append(SpecError(f"top_k {d.top_k} is larger than the vocabulary ({vocab} tokens)", path=path + ("top_k",)))
    if d.strategy == "beam" and d.beam_size > vocab:
        errors.append(SpecError(f"beam_size {d.beam_size} is larger than the vocabulary ({vocab} tokens)", path=path + ("beam_size",)))
    for key in SAMPLING_ONLY:
        if key in d.model_fields_set and d.strategy != "sample":
            warnings.append(warn(f"{key} applies to strategy sample, not {d.strategy}", path + (key,), "set strategy: sample"))
    for key in ("beam_size", "length_penalty"):
        if key in d.model_fields_set and d.strategy != "beam":
            warnings.append(warn(f"{key} applies to strategy beam, not {d.strategy}", path + (key,), "set strategy: beam"))

