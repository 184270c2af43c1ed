"""Data sources for the language-model, seq2seq and segmentation programs and for node classification
(members of the ``data.source`` union): a real text corpus that every Python installation carries,
generated sequence tasks, generated shapes with masks and generated graphs with node labels. Plain
pydantic, no torch; nothing is downloaded. Each class's ``FIELDS`` says what it yields
(docs/guide/data-sources.md lists them, generated).
"""

from typing import ClassVar, Literal, Optional

from pydantic import Field, model_validator

from .base import PositiveFloat, PositiveInt, StrictModel

#: modules whose documentation strings make the default corpus (prose-rich, present in every CPython)
STDLIB_MODULES = ["argparse", "collections", "difflib", "doctest", "functools", "inspect", "json", "logging",
                  "pathlib", "statistics", "subprocess", "textwrap", "typing", "unittest"]


class StdlibText(StrictModel):
    """Python's standard library as a text corpus: the documentation strings (or the source) of the listed
    modules, read from this interpreter's own files at run time (no download), tokenized like `text`."""
    FIELDS: ClassVar[str] = "`tokens` (seq_len,) int64 windows; `next`: the same window shifted by one token"
    EXAMPLE: ClassVar[str] = "{type: stdlib_text, content: docstrings, seq_len: 128}"
    type: Literal["stdlib_text"]
    modules: list[str] = Field(default=list(STDLIB_MODULES), min_length=1,
                               description="Standard-library modules or packages (json, email, ...), in this order.")
    content: Literal["docstrings", "source"] = Field("docstrings", description="Documentation strings (prose) or the whole source files.")
    max_chars: Optional[PositiveInt] = Field(300_000, description="Keep the first this many characters of the corpus.")
    tokenize: Literal["char", "whitespace"] = Field(
        "char", description="char: a token per character; whitespace: a token per whitespace-separated word.")
    vocab: Literal["ascii", "corpus"] = Field(
        "ascii", description="ascii: a fixed vocabulary (<pad>, <unk>, newline, the 95 printable ASCII characters) that is the "
                             "same on every Python version (char only); corpus: the tokens that occur.")
    max_vocab: Optional[PositiveInt] = Field(None, description="corpus: keep the most frequent tokens only (the rest is <unk>).")
    seq_len: PositiveInt = Field(64, description="Tokens per training window (`tokens`; `next` is shifted by one).")
    stride: Optional[PositiveInt] = Field(None, description="Step between windows (default: seq_len, so windows do not overlap).")
    lowercase: bool = Field(False, description="Lowercase the text before tokenizing.")

    @model_validator(mode="after")
    def _vocab(self) -> "StdlibText":
        if self.vocab == "ascii" and self.tokenize != "char":
            raise ValueError("vocab ascii is a character vocabulary: use tokenize: char, or vocab: corpus for words")
        if self.max_vocab is not None and self.vocab != "corpus":
            raise ValueError("max_vocab applies to vocab: corpus")
        return self


class SequenceTask(StrictModel):
    """Generated seq2seq pairs over the digits 0-9: reverse, sort or copy a random digit string."""
    FIELDS: ClassVar[str] = ("`src` (max_len,) digits padded with <pad>, `src_lengths`, `tgt_in` (<sos> y1 … y_n, "
                             "padded) and `tgt_out` (y1 … y_n <eos>, padded), both (max_len + 1,)")
    EXAMPLE: ClassVar[str] = "{type: sequence_task, task: reverse, num_samples: 5000, max_len: 10}"
    type: Literal["sequence_task"]
    task: Literal["reverse", "sort", "copy"] = Field("reverse", description="What the target does to the source digits.")
    num_samples: PositiveInt = Field(4000, description="Number of source/target pairs.")
    min_len: PositiveInt = Field(3, description="Shortest source string.")
    max_len: PositiveInt = Field(10, description="Longest source string (the padded width).")
    seed: int = Field(0, description="Seed of the generator: the same seed gives the same data.")

    @model_validator(mode="after")
    def _lengths(self) -> "SequenceTask":
        if self.min_len > self.max_len:
            raise ValueError(f"min_len {self.min_len} is larger than max_len {self.max_len}")
        return self


class Shapes(StrictModel):
    """Generated grayscale images of filled circles, rectangles and triangles with per-pixel masks."""
    FIELDS: ClassVar[str] = ("`image` (1, H, W) float32 in [0, 1] (noisy); `mask` (H, W) int64, the class of each "
                             "pixel")
    EXAMPLE: ClassVar[str] = "{type: shapes, num_samples: 3000, size: 32, max_shapes: 3}"
    type: Literal["shapes"]
    num_samples: PositiveInt = Field(1000, description="Number of images.")
    size: PositiveInt = Field(32, ge=8, description="Images are size × size pixels.")
    max_shapes: PositiveInt = Field(3, description="Each image holds 1 … max_shapes shapes (later ones on top).")
    kinds: list[Literal["circle", "rectangle", "triangle"]] = Field(
        default=["circle", "rectangle", "triangle"], min_length=1,
        description="Shape kinds; mask class k + 1 is kinds[k] (0 is background).")
    classes: Literal["kind", "binary"] = Field("kind", description="kind: one class per shape kind; binary: object vs background.")
    noise: float = Field(0.1, ge=0, description="Standard deviation of Gaussian pixel noise.")
    seed: int = Field(0, description="Seed of the generator: the same seed gives the same data.")


class Graphs(StrictModel):
    """Generated graphs for node classification, one graph per sample: a stochastic block model (each node in
    one of num_classes communities, an edge with probability p_in inside a community and p_out across), node
    features that are noisy indicators of the community (so neighbours help), the community as each node's label."""
    FIELDS: ClassVar[str] = ("`features` (nodes, num_features) float32; `adjacency` (nodes, nodes) float32, the normalized "
                             "D^-1/2 (A + I) D^-1/2; `target` (nodes,) int64, the community of each node")
    EXAMPLE: ClassVar[str] = "{type: graphs, num_samples: 200, num_nodes: 64, num_classes: 4}"
    type: Literal["graphs"]
    num_samples: PositiveInt = Field(200, description="Graphs (samples).")
    num_nodes: PositiveInt = Field(64, ge=2, description="Nodes per graph.")
    num_classes: PositiveInt = Field(4, ge=2, description="Communities, which are the classes.")
    num_features: PositiveInt = Field(16, description="Features per node: the first num_classes indicate the community.")
    p_in: float = Field(0.2, gt=0, le=1, description="Edge probability between two nodes of one community.")
    p_out: float = Field(0.02, ge=0, le=1, description="Edge probability between nodes of different communities.")
    signal: PositiveFloat = Field(1.0, description="Value of the community's indicator feature (before noise).")
    noise: float = Field(1.0, ge=0, description="Standard deviation of Gaussian noise on every feature.")
    seed: int = Field(0, description="Seed of the generator: the same seed gives the same data.")

    @model_validator(mode="after")
    def _sizes(self) -> "Graphs":
        if self.num_features < self.num_classes:
            raise ValueError(f"num_features ({self.num_features}) must be at least num_classes ({self.num_classes}): "
                             "one indicator feature per community")
        return self
