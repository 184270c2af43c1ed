"""Programs that predict tokens or pixels: ``language_model``, ``seq2seq`` and ``segmentation``
(``train.program``), and the decoding settings they share. Plain pydantic, no torch.

Each is the supervised step with a fixed task (the plan derives the mode, default losses, metrics
and target fields from the program; see ``netspec.spec.prediction_checks`` for the rules that
``netspec validate`` checks):

* ``language_model``: next-token prediction; the target field is ``next`` (the tokens shifted by
  one); perplexity and accuracy are logged; ``generate:`` holds the defaults of ``netspec generate``.
* ``seq2seq``: an encoder-decoder whose ``decoder_input`` takes the target prefix
  (``<sos> y1 … y_{T-1}``); the target field is ``tgt_out`` (``y1 … y_T <eos>``); the teacher
  forcing ratio mixes the model's own predictions into the prefix; evaluation decodes (greedy or
  beam) and logs the exact-match rate.
* ``segmentation``: (C, H, W) class logits per pixel against an (H, W) ``mask`` of class indices;
  IoU, Dice and pixel accuracy are logged.
"""

from typing import Literal, Optional

from pydantic import Field

from .base import NonNegInt, PositiveInt, StrictModel


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


class LanguageModelProgram(StrictModel):
    """Next-token training on a token stream (target: the `next` field); `netspec generate` decodes from it."""
    type: Literal["language_model"]
    context: Optional[PositiveInt] = Field(
        None, description="Tokens the model reads per generation step (default: the data's seq_len; older tokens drop out).")
    generate: Decoding = Field(default_factory=Decoding, description="Defaults for `netspec generate` (its options override them).")


class SpecialTokens(StrictModel):
    """Token ids of the special tokens (the `sequence_task` source's vocabulary: <pad> 0, <sos> 1, <eos> 2)."""
    pad: NonNegInt = Field(0, description="Padding (ignored by the loss and the metrics).")
    sos: NonNegInt = Field(1, description="Start of sequence: the first decoder input.")
    eos: NonNegInt = Field(2, description="End of sequence: decoding stops after it.")


class Seq2SeqProgram(StrictModel):
    """Encoder-decoder training with teacher forcing; greedy or beam decoding at evaluation (exact match)."""
    type: Literal["seq2seq"]
    decoder_input: str = Field("tgt_in", description="The model input that takes the target prefix (<sos> y1 … y_{T-1}).")
    teacher_forcing_ratio: float = Field(
        1.0, ge=0, le=1, description="Share of decoder input tokens taken from the target; the others are the model's "
                                     "own previous predictions (1: always teacher forcing).")
    special_tokens: SpecialTokens = Field(default_factory=SpecialTokens)
    decode: Decoding = Field(default_factory=Decoding, description="Decoding at evaluation: greedy or beam.")


class SegmentationProgram(StrictModel):
    """Per-pixel classification: (C, H, W) logits against an (H, W) mask of class indices (target: `mask`)."""
    type: Literal["segmentation"]


#: program type -> the task mode it trains (the plan's ``mode``)
PROGRAM_MODES = {"language_model": "language_model", "seq2seq": "seq2seq", "segmentation": "segmentation"}
