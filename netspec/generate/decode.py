"""Decoding: choose tokens one at a time from a next-token model (greedy, beam search, sampling).

Every strategy drives a ``step`` function: ``step(prefix)`` takes (N, T) int64 token ids and
returns (N, V) logits for the next token of each row. The loop stays here, outside the model (and
outside an exported ONNX graph, which holds one step). Results are (B, n) int64 tensors of the
*new* tokens; a row that emitted ``eos`` is filled with ``pad`` after it, and decoding stops early
once every row has finished.

* ``greedy``: the argmax at every step.
* ``beam_search``: ``beam_size`` hypotheses per row, ranked by total log-probability; a finished
  hypothesis (ending in ``eos``) scores ``log P / length ** length_penalty``. The search keeps
  ``beam_size`` live hypotheses, finishes those whose ``eos`` candidate ranks among the top
  ``beam_size``, and stops a row once it has ``beam_size`` finished ones (or at ``max_new``, where
  the live ones finish too). With ``beam_size`` 1 it is greedy decoding.
* ``sample``: draws from softmax(logits / temperature), restricted to the ``top_k`` most probable
  tokens and/or the nucleus (the smallest set of most probable tokens whose probability reaches
  ``top_p``); temperature 0 is greedy.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

Step = Callable[[torch.Tensor], torch.Tensor]


def _finish(new: torch.Tensor, done: torch.Tensor, eos: Optional[int], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace tokens of finished rows by ``pad``; mark rows that just emitted ``eos``."""
    new = torch.where(done, torch.full_like(new, pad), new)
    if eos is not None:
        done = done | (new == eos)
    return new, done


def greedy(step: Step, prefix: torch.Tensor, max_new: int, eos: Optional[int] = None, pad: int = 0) -> torch.Tensor:
    seqs, out = prefix, []
    done = torch.zeros(prefix.shape[0], dtype=torch.bool, device=prefix.device)
    for _ in range(max_new):
        new, done = _finish(step(seqs).argmax(-1), done, eos, pad)
        out.append(new)
        seqs = torch.cat([seqs, new[:, None]], 1)
        if bool(done.all()):
            break
    return torch.stack(out, 1) if out else prefix.new_zeros((prefix.shape[0], 0))


def filter_logits(logits: torch.Tensor, top_k: Optional[int] = None, top_p: Optional[float] = None) -> torch.Tensor:
    """Set logits outside the top-k / the top-p nucleus to -inf (the most probable token always stays)."""
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1:
        probs, order = torch.softmax(logits, dim=-1).sort(dim=-1, descending=True)
        before = probs.cumsum(-1) - probs  # probability mass of the more probable tokens
        drop = torch.zeros_like(probs, dtype=torch.bool).scatter(-1, order, before >= top_p)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample(step: Step, prefix: torch.Tensor, max_new: int, temperature: float = 1.0, top_k: Optional[int] = None,
           top_p: Optional[float] = None, generator: Optional[torch.Generator] = None, eos: Optional[int] = None,
           pad: int = 0) -> torch.Tensor:
    if temperature == 0:
        return greedy(step, prefix, max_new, eos, pad)
    seqs, out = prefix, []
    done = torch.zeros(prefix.shape[0], dtype=torch.bool, device=prefix.device)
    for _ in range(max_new):
        logits = filter_logits(step(seqs).float() / temperature, top_k, top_p)
        probs = torch.softmax(logits, dim=-1)
        new = torch.multinomial(probs, 1, generator=generator)[:, 0]
        new, done = _finish(new, done, eos, pad)
        out.append(new)
        seqs = torch.cat([seqs, new[:, None]], 1)
        if bool(done.all()):
            break
    return torch.stack(out, 1) if out else prefix.new_zeros((prefix.shape[0], 0))


def beam_search(step: Step, prefix: torch.Tensor, max_new: int, beam_size: int, length_penalty: float = 0.0,
                eos: Optional[int] = None, pad: int = 0, return_scores: bool = False):
    """Beam search for each row of ``prefix``; ``step`` sees B·beam_size rows, row b·K + k being beam k
    of input row b (so per-row conditioning repeated with ``repeat_interleave(K)`` stays aligned)."""
    B, K, dev = prefix.shape[0], beam_size, prefix.device
    seqs = prefix.repeat_interleave(K, 0)
    scores = torch.full((B, K), float("-inf"), device=dev)
    scores[:, 0] = 0.0  # the K copies of the prompt are one hypothesis
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(B)]
    open_rows = torch.ones(B, dtype=torch.bool, device=dev)
    start = prefix.shape[1]
    for t in range(max_new):
        logp = torch.log_softmax(step(seqs).float(), dim=-1)
        V = logp.shape[-1]
        cand = (scores.reshape(B * K, 1) + logp).reshape(B, K * V)
        top, idx = cand.topk(min(2 * K, K * V), dim=1)
        beam, tok = idx // V, idx % V
        if eos is not None:
            _collect(finished, seqs, top, beam, tok, eos, K, t + 1, length_penalty, open_rows, start)
            top = top.masked_fill(tok == eos, float("-inf"))
        keep = top.topk(K, dim=1).indices  # the best K non-eos candidates
        scores = top.gather(1, keep)
        rows = (torch.arange(B, device=dev)[:, None] * K + beam.gather(1, keep)).reshape(-1)
        seqs = torch.cat([seqs[rows], tok.gather(1, keep).reshape(-1, 1)], 1)
        open_rows &= torch.tensor([len(f) < K for f in finished], device=dev)
        if not bool(open_rows.any()):
            break
    live = seqs.reshape(B, K, -1)
    for b in range(B):
        if bool(open_rows[b]):  # reached max_new: live hypotheses finish as they are
            n = live.shape[2] - start
            finished[b] += [(float(s) / max(n, 1) ** length_penalty, live[b, k, start:].tolist())
                            for k, s in enumerate(scores[b]) if torch.isfinite(s)]
    best = [max(f, key=lambda h: h[0]) for f in finished]
    width = max(len(h[1]) for h in best)
    out = torch.full((B, width), pad, dtype=torch.long, device=dev)
    for b, (_, toks) in enumerate(best):
        out[b, : len(toks)] = torch.tensor(toks, dtype=torch.long)
    return (out, torch.tensor([h[0] for h in best])) if return_scores else out


def _collect(finished, seqs, top, beam, tok, eos, K, length, alpha, open_rows, start) -> None:
    """Finish the eos candidates ranked among the top K of rows still searching."""
    hits = ((tok == eos) & torch.isfinite(top)).nonzero().tolist()
    for b, r in hits:
        if r >= K or not bool(open_rows[b]) or len(finished[b]) >= K:
            continue
        row = b * K + int(beam[b, r])
        toks = seqs[row, start:].tolist() + [eos]
        finished[b].append((float(top[b, r]) / length ** alpha, toks))


def decode(step: Step, prefix: torch.Tensor, options, max_new: int, eos: Optional[int] = None, pad: int = 0,
           generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Dispatch on ``options.strategy`` (a ``netspec.programs.decoding.Decoding``)."""
    if options.strategy == "beam":
        return beam_search(step, prefix, max_new, options.beam_size, options.length_penalty, eos, pad)
    if options.strategy == "sample":
        return sample(step, prefix, max_new, options.temperature, options.top_k, options.top_p, generator, eos, pad)
    return greedy(step, prefix, max_new, eos, pad)
