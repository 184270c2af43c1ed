"""Recurrent layers in ONNX through the ONNX RNN/GRU/LSTM operators themselves.

Two problems with the exporter's own path, measured on torch 2.13: a node with ``lengths: true``
runs packed sequences (``pack_padded_sequence``), which torch.export cannot capture; and an
``aten.lstm``/``aten.gru`` exported with a dynamic sequence axis comes out with the *example*
sequence length baked into its output shape (onnxruntime warns, and shape computations after it
are folded to the example size). ONNX's own operators take the valid length of every sample
(``sequence_lens``) and give exactly the packed semantics: steps past a sample's length are
skipped (zeros in ``Y``), ``Y_h``/``Y_c`` hold the state at the last valid step, and the reverse
direction starts at each sample's own last step.

So for export every recurrent module's class is swapped (on the export copy only) for one that
calls the custom op ``netspec::onnx_rnn`` once per layer, with the weights reordered from
PyTorch's gate order to ONNX's; the op's fake kernel keeps the sequence axis symbolic, and
``TRANSLATIONS`` maps it onto the ONNX operator for the exporter. The op's eager implementation
follows the ONNX definition step by step, so the export form can be checked against torch's
packed modules in plain PyTorch too.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

#: PyTorch's gate blocks in ONNX's order: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h
GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}


@torch.library.custom_op("netspec::onnx_rnn", mutates_args=())
def onnx_rnn(x: torch.Tensor, w: torch.Tensor, r: torch.Tensor, b: torch.Tensor, lengths: Optional[torch.Tensor],
             h0: torch.Tensor, c0: torch.Tensor, mode: str, hidden_size: int,
             bidirectional: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One ONNX recurrent layer (layout 0): x (L, N, I), w (D, G·H, I), r (D, G·H, H), b (D, 2·G·H),
    lengths (N,) or None (every sample uses all L steps), h0/c0 (D, N, H)
    -> Y (L, D, N, H), Y_h (D, N, H), Y_c (D, N, H)."""
    dirs = 2 if bidirectional else 1
    ys, hs, cs = [], [], []
    for d in range(dirs):
        y, h, c = _run_direction(x, w[d], r[d], b[d], lengths, h0[d], c0[d], mode, hidden_size, reverse=d == 1)
        ys.append(y)
        hs.append(h)
        cs.append(c)
    return torch.stack(ys, 1), torch.stack(hs), torch.stack(cs)


@onnx_rnn.register_fake
def _(x, w, r, b, lengths, h0, c0, mode, hidden_size, bidirectional):
    dirs, n = (2 if bidirectional else 1), x.shape[1]
    return x.new_empty(x.shape[0], dirs, n, hidden_size), x.new_empty(dirs, n, hidden_size), x.new_empty(dirs, n, hidden_size)


def _run_direction(x, w, r, b, lengths, h, c, mode: str, hidden: int, reverse: bool):
    """The ONNX recurrence for one direction; a sample's state stops changing after its length."""
    steps, gates = x.shape[0], w.shape[0] // hidden
    if lengths is None:
        lengths = torch.full((x.shape[1],), steps, dtype=torch.int64, device=x.device)
    wb, rb = b[: gates * hidden], b[gates * hidden:]
    out = x.new_zeros(steps, x.shape[1], hidden)
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    for t in order:
        valid = (t < lengths).unsqueeze(-1)
        xw, hr = x[t] @ w.T + wb, h @ r.T + rb
        if mode == "LSTM":
            i, o, f, g = (xw + hr).chunk(4, -1)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
            c = torch.where(valid, c_new, c)
        elif mode == "GRU":  # linear_before_reset = 1 (PyTorch's GRU)
            xz, xr, xh = xw.chunk(3, -1)
            hz, hr_, hh = hr.chunk(3, -1)
            z, rr = torch.sigmoid(xz + hz), torch.sigmoid(xr + hr_)
            h_new = (1 - z) * torch.tanh(xh + rr * hh) + z * h
        else:
            pre = xw + hr
            h_new = torch.tanh(pre) if mode == "RNN_TANH" else torch.relu(pre)
        h = torch.where(valid, h_new, h)
        out[t] = torch.where(valid, h_new, torch.zeros_like(h_new))
    return out, h, c


def _onnx_rnn_translation(x, w, r, b, lengths, h0, c0, mode: str, hidden_size: int, bidirectional: bool):
    from onnxscript import opset18 as op

    seq = None if lengths is None else op.Cast(lengths, to=6)  # sequence_lens is int32
    direction = "bidirectional" if bidirectional else "forward"
    if mode == "LSTM":
        return op.LSTM(x, w, r, b, seq, h0, c0, hidden_size=hidden_size, direction=direction)
    if mode == "GRU":
        y, yh = op.GRU(x, w, r, b, seq, h0, hidden_size=hidden_size, direction=direction, linear_before_reset=1)
        return y, yh, op.Identity(yh)
    act = "Tanh" if mode == "RNN_TANH" else "Relu"
    y, yh = op.RNN(x, w, r, b, seq, h0, hidden_size=hidden_size, direction=direction,
                   activations=[act] * (2 if bidirectional else 1))
    return y, yh, op.Identity(yh)


#: for torch.onnx.export(custom_translation_table=...)
TRANSLATIONS = {torch.ops.netspec.onnx_rnn.default: _onnx_rnn_translation}


def _torchscript_symbolic(g, x, w, r, b, lengths, h0, c0, mode, hidden_size, bidirectional):
    """The same mapping for the TorchScript exporter (the fallback below opset 18)."""
    from torch.onnx import symbolic_helper as sh

    mode, hidden, bidir = sh._parse_arg(mode, "s"), sh._parse_arg(hidden_size, "i"), sh._parse_arg(bidirectional, "b")
    if sh._is_none(lengths):
        seq = g.op("prim::Constant")
        seq.setType(torch._C.OptionalType.ofTensor())
    else:
        seq = g.op("Cast", lengths, to_i=6)
    common = {"hidden_size_i": hidden, "direction_s": "bidirectional" if bidir else "forward"}
    if mode == "LSTM":
        return g.op("LSTM", x, w, r, b, seq, h0, c0, outputs=3, **common)
    if mode == "GRU":
        y, yh = g.op("GRU", x, w, r, b, seq, h0, linear_before_reset_i=1, outputs=2, **common)
    else:
        act = "Tanh" if mode == "RNN_TANH" else "Relu"
        y, yh = g.op("RNN", x, w, r, b, seq, h0, activations_s=[act] * (2 if bidir else 1), outputs=2, **common)
    return y, yh, g.op("Identity", yh)


def register_torchscript_symbolic() -> None:
    """Let the TorchScript exporter translate ``netspec::onnx_rnn`` (opsets 9 and up)."""
    torch.onnx.register_custom_op_symbolic("netspec::onnx_rnn", _torchscript_symbolic, 9)


def run_layers(module: nn.RNNBase, seq: torch.Tensor, lengths: Optional[torch.Tensor], h0: Optional[torch.Tensor],
               c0: Optional[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All layers of a torch RNN/LSTM/GRU over a sequence-first (L, N, I) input with
    ``netspec::onnx_rnn`` -> (L, N, D·H) outputs, h_n and c_n (num_layers·D, N, H)."""
    dirs, hidden, n = (2 if module.bidirectional else 1), module.hidden_size, seq.shape[1]
    zeros = seq.new_zeros(module.num_layers * dirs, n, hidden)
    h0 = zeros if h0 is None else h0
    c0 = zeros if c0 is None else c0
    hs, cs = [], []
    for layer in range(module.num_layers):
        w, r, b = _onnx_weights(module, layer, dirs)
        part = slice(layer * dirs, (layer + 1) * dirs)
        y, yh, yc = torch.ops.netspec.onnx_rnn(seq, w, r, b, lengths, h0[part], c0[part], module.mode, hidden,
                                               module.bidirectional)
        seq = y.permute(0, 2, 1, 3).reshape(y.shape[0], n, dirs * hidden)
        hs.append(yh)
        cs.append(yc)
    return seq, torch.cat(hs), torch.cat(cs)


class OnnxNetspecRecurrent:
    """Put in front of a netspec recurrent module's class (on the export copy): the same
    parameters and outputs, computed with ``netspec::onnx_rnn`` (lengths, if any, as sequence_lens)."""

    def forward(self, x: torch.Tensor, *extra: torch.Tensor):  # type: ignore[override]
        states: tuple[torch.Tensor, ...] = ()
        if self.takes_state:
            states = tuple(self._to_torch_state(s) for s in extra[: self.num_states])
            extra = extra[self.num_states:]
        lengths = extra[0] if self.takes_lengths else None
        c0 = states[1] if len(states) == 2 else None
        out, h, c = run_layers(self, x.transpose(0, 1), lengths, states[0] if states else None, c0)
        out = out.transpose(0, 1)
        final = (h, c) if self.num_states == 2 else (h,)
        results: list[torch.Tensor] = []
        for what in self.returns:
            if what == "sequence":
                results.append(out)
            elif what == "last":
                results.append(self._last(h))
            else:
                results += [s.transpose(0, 1) for s in final]
        return results[0] if len(results) == 1 else tuple(results)


class OnnxTorchRecurrent:
    """The same for a plain torch.nn.RNN/LSTM/GRU (padded tensors, not PackedSequence)."""

    def forward(self, x: torch.Tensor, hx=None):  # type: ignore[override]
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(1 if not self.batch_first else 0)
            hx = None if hx is None else (tuple(s.unsqueeze(1) for s in hx) if isinstance(hx, tuple) else hx.unsqueeze(1))
        seq = x.transpose(0, 1) if self.batch_first else x
        h0, c0 = (hx if isinstance(hx, tuple) else (hx, None))
        out, h, c = run_layers(self, seq, None, h0, c0)
        out = out.transpose(0, 1) if self.batch_first else out
        if unbatched:
            out, h, c = out.squeeze(0 if self.batch_first else 1), h.squeeze(1), c.squeeze(1)
        return out, ((h, c) if self.mode == "LSTM" else h)


def _onnx_weights(module: nn.RNNBase, layer: int, dirs: int):
    order = GATE_ORDER[module.mode]
    ws, rs, bs = [], [], []
    for d in range(dirs):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        w_ih, w_hh = getattr(module, f"weight_ih{sfx}"), getattr(module, f"weight_hh{sfx}")
        ws.append(_reorder(w_ih, order))
        rs.append(_reorder(w_hh, order))
        if module.bias:
            bs.append(torch.cat([_reorder(getattr(module, f"bias_ih{sfx}"), order),
                                 _reorder(getattr(module, f"bias_hh{sfx}"), order)]))
        else:
            bs.append(w_ih.new_zeros(2 * w_ih.shape[0]))
    return torch.stack(ws), torch.stack(rs), torch.stack(bs)


def _reorder(t: torch.Tensor, order: tuple[int, ...]) -> torch.Tensor:
    if len(order) == 1:
        return t
    blocks = t.chunk(len(order), 0)
    return torch.cat([blocks[i] for i in order], 0)


def export_form(module: nn.Module) -> bool:
    """Swap a recurrent module to its ONNX form, in place; False if it is not one (or has an LSTM
    projection, which the ONNX operators lack: it is then left to the exporter)."""
    from ..nn.recurrent import _Recurrent

    if not isinstance(module, nn.RNNBase) or getattr(module, "proj_size", 0):
        return False
    mixin = OnnxNetspecRecurrent if isinstance(module, _Recurrent) else OnnxTorchRecurrent
    cls = type(module)
    module.__class__ = type(f"Onnx{cls.__name__}", (mixin, cls), {})
    return True
