"""torch.nn.RNN/LSTM/GRU with netspec's calling convention: batch-first inputs, optional initial
state and lengths inputs, and a chosen list of outputs (sequence, last step, final state).

The classes subclass the torch ones, so parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``,
...) and state dicts are exactly torch's.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class _Recurrent:
    """Mixin over a torch recurrent module (it must come first in the bases)."""

    num_states = 1

    def __init__(self, *args, returns: Sequence[str] = ("sequence",), lengths: bool = False,
                 initial_state: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self.returns = tuple(returns)
        self.takes_lengths = lengths
        self.takes_state = initial_state

    def forward(self, x: torch.Tensor, *extra: torch.Tensor):  # type: ignore[override]
        hx = None
        if self.takes_state:
            states = tuple(self._to_torch_state(s) for s in extra[: self.num_states])
            hx = states if self.num_states == 2 else states[0]
            extra = extra[self.num_states:]
        lengths: Optional[torch.Tensor] = extra[0] if self.takes_lengths else None
        if lengths is None:
            out, state = super().forward(x, hx)  # type: ignore[misc]
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, state = super().forward(packed, hx)  # type: ignore[misc]
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        states = state if self.num_states == 2 else (state,)
        results: list[torch.Tensor] = []
        for what in self.returns:
            if what == "sequence":
                results.append(out)
            elif what == "last":
                results.append(self._last(states[0]))
            else:
                results += [s.transpose(0, 1) for s in states]
        return results[0] if len(results) == 1 else tuple(results)

    def _to_torch_state(self, s: torch.Tensor) -> torch.Tensor:
        """Per-sample (layers·dirs, H) or (H,) -> torch's (layers·dirs, N, H)."""
        if s.dim() == 2:
            return s.unsqueeze(0).contiguous()
        return s.transpose(0, 1).contiguous()

    def _last(self, h: torch.Tensor) -> torch.Tensor:
        """The top layer's final state: the forward direction's last valid step, and for a
        bidirectional layer the backward direction's (which ends at the first step)."""
        if self.bidirectional:  # type: ignore[attr-defined]
            return torch.cat([h[-2], h[-1]], dim=-1)
        return h[-1]

    def extra_repr(self) -> str:
        extra = f", returns={list(self.returns)}"
        extra += ", lengths=True" if self.takes_lengths else ""
        extra += ", initial_state=True" if self.takes_state else ""
        return super().extra_repr() + extra  # type: ignore[misc]


class RNN(_Recurrent, nn.RNN):
    pass


class LSTM(_Recurrent, nn.LSTM):
    num_states = 2


class GRU(_Recurrent, nn.GRU):
    pass
