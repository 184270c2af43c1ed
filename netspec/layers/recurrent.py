"""Recurrent layers over a sequence of vectors: rnn (tanh/relu), lstm, gru.

A sample is a sequence (L, F); the compiled module runs batch-first. ``returns`` says what the node
outputs: the full ``sequence`` (L, H·dirs) for many-to-many, the ``last`` step (H·dirs,) for
many-to-one (for a bidirectional layer, the forward direction's last step beside the backward
direction's first; with ``lengths``, the last *valid* step), or the final ``state`` — ``h`` (and
``c`` for an LSTM), each (num_layers·dirs, H) — to start a decoder. A list asks for several, in
order (``returns: [sequence, state]`` for an attention encoder that also seeds its decoder).

Optional inputs come after the sequence, in this order: the initial state (``initial_state: true``:
h0, and c0 for an LSTM, each (num_layers·dirs, H), or (H,) for one layer one way), then the valid
lengths (``lengths: true``: int64, shape (), one per sample; steps past a sample's length are
skipped with packed sequences and come out as zeros). Without lengths no packing happens, which
keeps the plain path exportable to ONNX.
"""

from typing import TYPE_CHECKING, Any, ClassVar, Literal, Sequence, Union

from pydantic import Field, field_validator, model_validator

from ..errors import ShapeError
from ..limits import MAX_REPEAT
from ..strict import PositiveInt, Probability
from .base import FLOAT, LONG, Example, Layer
from .registry import register
from .shapes import Shape, expect_rank, expect_static, fmt_shape

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

Returns = Literal["sequence", "last", "state"]
RETURNS = ("Which outputs the node gives, in order: `sequence` (L, H·dirs) for many-to-many, `last` "
           "(H·dirs,) — the last valid step — for many-to-one, `state`: the final h (and c for lstm), "
           "each (num_layers·dirs, H). One name or a list.")


class RecurrentLayer(Layer):
    """Shared parameters and rules of rnn, lstm and gru."""

    family = "recurrent"
    arity = (1, 4)
    input_dtypes = (FLOAT, LONG)  # for the docs; input_dtypes_for gives each input's own
    gates: ClassVar[int]
    states: ClassVar[int] = 1  # h, or h and c for an LSTM
    module: ClassVar[str]

    hidden_size: PositiveInt = Field(description="Size H of the hidden state.")
    num_layers: PositiveInt = Field(1, le=MAX_REPEAT, description="Number of stacked recurrent layers.")
    bidirectional: bool = Field(False, description="Also run the sequence backwards; outputs concatenate both directions.")
    dropout: Probability = Field(0.0, description="Dropout between stacked layers (needs num_layers > 1).")
    bias: bool = Field(True, description="Learn the input and hidden biases.")
    returns: Union[Returns, list[Returns]] = Field(description=RETURNS)
    lengths: bool = Field(False, description="Take the valid lengths (int64, shape ()) as the last input; padded steps are skipped.")
    initial_state: bool = Field(False, description="Take the initial state (h0, and c0 for lstm) as inputs after the sequence.")

    @field_validator("returns")
    @classmethod
    def _distinct(cls, value: Any) -> Any:
        if isinstance(value, list) and (not value or len(set(value)) != len(value)):
            raise ValueError("list each output once (sequence, last, state)")
        return value

    @model_validator(mode="after")
    def _dropout_needs_layers(self) -> "RecurrentLayer":
        if self.dropout and self.num_layers == 1:
            raise ValueError("dropout acts between stacked layers; with num_layers 1 it does nothing "
                             "(use num_layers > 1, or a dropout layer after this one)")
        return self

    # ---- outputs and inputs ---------------------------------------------------------------------
    @property
    def returned(self) -> tuple[str, ...]:
        return (self.returns,) if isinstance(self.returns, str) else tuple(self.returns)

    @property
    def output_names(self) -> tuple[str, ...]:  # type: ignore[override]
        state = ("h", "c")[: self.states]
        return tuple(n for r in self.returned for n in (state if r == "state" else (r,)))

    @property
    def dirs(self) -> int:
        return 2 if self.bidirectional else 1

    def input_roles(self) -> list[str]:
        roles = ["sequence"] + (["h0", "c0"][: self.states] if self.initial_state else [])
        return roles + (["lengths"] if self.lengths else [])

    def input_dtypes_for(self, count: int) -> list[tuple[str, ...] | None]:
        dtypes: list[tuple[str, ...] | None] = [(LONG,) if r == "lengths" else (FLOAT,) for r in self.input_roles()]
        return (dtypes + [None] * count)[:count]

    # ---- shape contract -------------------------------------------------------------------------
    def output_shapes(self, *xs: Shape) -> list[Shape]:
        roles = self.input_roles()
        if len(xs) != len(roles):
            raise ShapeError(f"{self.tag} takes {len(roles)} input(s) ({', '.join(roles)}), got {len(xs)}",
                             hint="`initial_state: true` adds the state inputs, `lengths: true` the lengths input")
        x = xs[0]
        expect_rank(x, 2, "a sequence of vectors (L, F)",
                    hint="token ids need an `embedding` first" if len(x) == 1 else None)
        expect_static(x[1], "feature size")
        for role, shape in zip(roles[1:], xs[1:]):
            self._check_extra(role, shape)
        h, stacked = self.hidden_size, self.num_layers * self.dirs
        shapes = {"sequence": (x[0], h * self.dirs), "last": (h * self.dirs,), "h": (stacked, h), "c": (stacked, h)}
        return [shapes[n] for n in self.output_names]

    def _check_extra(self, role: str, shape: Shape) -> None:
        if role == "lengths":
            if shape != ():
                raise ShapeError(f"expects the lengths as one int64 per sample, shape (), got {fmt_shape(shape)}",
                                 hint="declare the input with `shape: []` and `dtype: int64`")
            return
        stacked = self.num_layers * self.dirs
        allowed = [(stacked, self.hidden_size)] + ([(self.hidden_size,)] if stacked == 1 else [])
        if tuple(shape) not in allowed:
            raise ShapeError(f"expects the initial {role[0]} as {' or '.join(map(fmt_shape, allowed))} "
                             f"(num_layers·directions, hidden_size), got {fmt_shape(shape)}")

    # ---- costs ----------------------------------------------------------------------------------
    def param_shapes(self, *xs: Shape) -> dict[str, tuple[int, ...]]:
        g, h = self.gates * self.hidden_size, self.hidden_size
        out: dict[str, tuple[int, ...]] = {}
        for layer in range(self.num_layers):
            width = int(xs[0][1]) if layer == 0 else h * self.dirs
            for suffix in ("", "_reverse")[: self.dirs]:
                out[f"weight_ih_l{layer}{suffix}"] = (g, width)
                out[f"weight_hh_l{layer}{suffix}"] = (g, h)
                if self.bias:
                    out[f"bias_ih_l{layer}{suffix}"] = (g,)
                    out[f"bias_hh_l{layer}{suffix}"] = (g,)
        return out

    def num_params(self, *xs: Shape) -> int:
        total = 0
        for shape in self.param_shapes(*xs).values():
            n = 1
            for d in shape:
                n *= d
            total += n
        return total

    def flops(self, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> int:
        steps = inputs[0][0] if isinstance(inputs[0][0], int) else 1
        g, h = self.gates * self.hidden_size, self.hidden_size
        per_step = 0
        for layer in range(self.num_layers):
            width = int(inputs[0][1]) if layer == 0 else h * self.dirs
            per_step += self.dirs * 2 * g * (width + h)
        return per_step * steps

    # ---- building -------------------------------------------------------------------------------
    def _module_kwargs(self) -> dict[str, Any]:
        return {}

    def build(self, *xs: Shape) -> "nn.Module":
        from ..nn import recurrent

        cls: type[nn.Module] = getattr(recurrent, self.module)
        return cls(int(xs[0][1]), self.hidden_size, num_layers=self.num_layers, bias=self.bias, batch_first=True,
                   dropout=self.dropout, bidirectional=self.bidirectional, returns=self.returned,
                   lengths=self.lengths, initial_state=self.initial_state, **self._module_kwargs())


_BAD = (((8,),), ((4, 5, 6),))


@register
class RNN(RecurrentLayer):
    """(L, F) → (L, H·dirs) | (H·dirs,) | h: an Elman RNN, hₜ = act(W_ih xₜ + b_ih + W_hh hₜ₋₁ + b_hh).

    `returns` picks the sequence, the last valid step or the final state `h`. Optional inputs
    after the sequence: the initial state (`initial_state: true`), then int64 lengths, shape ()
    (`lengths: true`; padded steps are skipped and come out as zeros).
    """

    tag, gates, module = "rnn", 1, "RNN"
    examples = (
        Example({"hidden_size": 8, "returns": "sequence"}, ((5, 4),)),
        Example({"hidden_size": 6, "nonlinearity": "relu", "num_layers": 2, "returns": ["last", "state"]}, (("seq", 3),)),
        Example({"hidden_size": 4, "bidirectional": True, "returns": "last", "lengths": True},
                ((6, 3), ()), (FLOAT, LONG), (None, (1, 7))),
    )
    bad_inputs = _BAD

    nonlinearity: Literal["tanh", "relu"] = Field("tanh", description="The hidden activation: tanh or relu.")

    def _module_kwargs(self) -> dict[str, Any]:
        return {"nonlinearity": self.nonlinearity}


@register
class LSTM(RecurrentLayer):
    """(L, F) → (L, H·dirs) | (H·dirs,) | h, c: a long short-term memory layer (input, forget, cell, output gates).

    `returns` picks the sequence, the last valid step or the final state h and c (outputs `h`, `c`).
    Optional inputs after the sequence: h0 and c0 (`initial_state: true`), then int64 lengths,
    shape () (`lengths: true`; padded steps are skipped and come out as zeros).
    """

    tag, gates, states, module = "lstm", 4, 2, "LSTM"
    examples = (
        Example({"hidden_size": 8, "returns": "sequence"}, ((5, 4),)),
        Example({"hidden_size": 6, "num_layers": 2, "bidirectional": True, "dropout": 0.1, "returns": "last",
                 "lengths": True}, ((7, 4), ()), (FLOAT, LONG), (None, (1, 8))),
        Example({"hidden_size": 5, "num_layers": 2, "returns": ["sequence", "state"], "initial_state": True},
                (("seq", 3), (2, 5), (2, 5))),
        Example({"hidden_size": 4, "returns": "state", "bias": False, "initial_state": True, "lengths": True},
                ((6, 2), (4,), (4,), ()), (FLOAT, FLOAT, FLOAT, LONG), (None, None, None, (1, 7))),
    )
    bad_inputs = _BAD


@register
class GRU(RecurrentLayer):
    """(L, F) → (L, H·dirs) | (H·dirs,) | h: a gated recurrent unit layer (reset and update gates).

    `returns` picks the sequence, the last valid step or the final state `h`. Optional inputs
    after the sequence: the initial state (`initial_state: true`), then int64 lengths, shape ()
    (`lengths: true`; padded steps are skipped and come out as zeros).
    """

    tag, gates, module = "gru", 3, "GRU"
    examples = (
        Example({"hidden_size": 8, "returns": "sequence"}, ((5, 4),)),
        Example({"hidden_size": 6, "bidirectional": True, "returns": ["sequence", "state"], "lengths": True},
                (("seq", 3), ()), (FLOAT, LONG), (None, (1, 8))),
        Example({"hidden_size": 4, "num_layers": 3, "returns": "last", "initial_state": True}, ((5, 2), (3, 4))),
    )
    bad_inputs = _BAD
