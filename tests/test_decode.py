"""Decoding strategies against hand-computed cases: greedy is the argmax chain, beam size 1 is
greedy, beam search finds a better sequence than greedy on a constructed model, the length penalty
changes which finished hypothesis wins, top-k = 1 and temperature → 0 reduce sampling to greedy,
top-p keeps the smallest set of tokens reaching p, and sampled frequencies follow the distribution."""

from __future__ import annotations

import math

import pytest
import torch

from netspec.generate.decode import beam_search, filter_logits, greedy, sample


def bigram(table: torch.Tensor):
    """A next-token model whose logits depend on the last token only: row ``table[last]``."""
    return lambda prefix: table[prefix[:, -1]]


def from_probs(rules: dict, vocab: int):
    """A model given by probabilities: ``rules[tuple(prefix)]`` or ``rules[last token]``."""

    def step(prefix: torch.Tensor) -> torch.Tensor:
        rows = []
        for row in prefix.tolist():
            p = rules.get(tuple(row), rules.get(row[-1]))
            rows.append(torch.log(torch.tensor(p, dtype=torch.float64)).float())
        return torch.stack(rows)

    return step


def test_greedy_is_the_argmax_chain():
    table = torch.tensor([[0.0, 3, 1, 0], [0, 0, 2, 5], [1, 0, 0, 0], [4, 0, 0, 1]])
    out = greedy(bigram(table), torch.tensor([[0], [2]]), max_new=4)
    # 0 -> 1 -> 3 -> 0 -> 1 and 2 -> 0 -> 1 -> 3 -> 0, by hand from the rows' maxima
    assert out.tolist() == [[1, 3, 0, 1], [0, 1, 3, 0]]


def test_greedy_stops_at_eos_and_pads():
    table = torch.tensor([[0.0, 3, 1, 0], [0, 0, 5, 2], [0, 0, 0, 9], [0, 9, 0, 0]])
    out = greedy(bigram(table), torch.tensor([[0], [3]]), max_new=6, eos=2, pad=0)
    # row 0: 1, then eos; row 1: 1, eos — both finish, so decoding stops after 2 steps
    assert out.tolist() == [[1, 2], [1, 2]]
    out = greedy(bigram(table), torch.tensor([[0], [2]]), max_new=3, eos=2, pad=0)
    assert out.tolist() == [[1, 2, 0], [3, 1, 2]]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("eos", [None, 1])
def test_beam_size_one_is_greedy(seed, eos):
    g = torch.Generator().manual_seed(seed)
    table = torch.randn(7, 7, generator=g) * 3
    prefix = torch.randint(0, 7, (4, 2), generator=g)
    assert torch.equal(beam_search(bigram(table), prefix, 8, beam_size=1, eos=eos),
                       greedy(bigram(table), prefix, 8, eos=eos))


def test_beam_finds_a_better_sequence_than_greedy():
    # tokens A=0, B=1, prompt S=2. First step: P(A)=0.6, P(B)=0.4. After A the model is unsure
    # (0.34/0.33/0.33), after B it is sure (P(B)=0.9): greedy takes A, A (P = 0.6·0.34 = 0.204);
    # the better sequence is B, B (P = 0.4·0.9 = 0.36).
    rules = {2: [0.6, 0.4, 0.0], 0: [0.34, 0.33, 0.33], 1: [0.05, 0.9, 0.05]}
    step = from_probs(rules, 3)
    prompt = torch.tensor([[2]])
    assert greedy(step, prompt, 2).tolist() == [[0, 0]]
    out, scores = beam_search(step, prompt, 2, beam_size=2, return_scores=True)
    assert out.tolist() == [[1, 1]]
    assert scores[0].item() == pytest.approx(math.log(0.36), rel=1e-5)


def test_length_penalty_picks_between_finished_hypotheses():
    # A=0, B=1, eos=2, prompt S=3. P(eos)=0.4 at once; A then eos has P = 0.55·0.6 = 0.33.
    # Both finish within the top 2. Total log-probability prefers [eos] (log 0.4 > log 0.33);
    # per-token (length_penalty 1) prefers [A, eos] (log 0.33 / 2 = -0.55 > log 0.4 = -0.92).
    rules = {3: [0.55, 0.05, 0.4, 0.0], 0: [0.2, 0.2, 0.6, 0.0], 1: [0.1, 0.1, 0.8, 0.0]}
    step = from_probs(rules, 4)
    prompt = torch.tensor([[3]])
    out, scores = beam_search(step, prompt, 5, beam_size=2, length_penalty=0.0, eos=2, pad=0, return_scores=True)
    assert out.tolist() == [[2]] and scores[0].item() == pytest.approx(math.log(0.4), rel=1e-5)
    out, scores = beam_search(step, prompt, 5, beam_size=2, length_penalty=1.0, eos=2, pad=0, return_scores=True)
    assert out.tolist() == [[0, 2]] and scores[0].item() == pytest.approx(math.log(0.33) / 2, rel=1e-5)


def test_beam_rows_are_independent():
    g = torch.Generator().manual_seed(0)
    table = torch.randn(9, 9, generator=g) * 2
    prefix = torch.tensor([[1, 4], [3, 8], [0, 0]])
    together = beam_search(bigram(table), prefix, 6, beam_size=3, eos=5, pad=0)
    for i in range(3):
        alone = beam_search(bigram(table), prefix[i:i + 1], 6, beam_size=3, eos=5, pad=0)
        assert together[i, : alone.shape[1]].tolist() == alone[0].tolist()
        assert (together[i, alone.shape[1]:] == 0).all()


def test_beam_score_is_the_best_total_log_probability():
    """Exhaustive search over all sequences of length 3 agrees with a wide beam."""
    g = torch.Generator().manual_seed(3)
    table = torch.randn(4, 4, generator=g) * 2
    logp = torch.log_softmax(table, -1)
    best = max(((a, b, c) for a in range(4) for b in range(4) for c in range(4)),
               key=lambda s: logp[1, s[0]] + logp[s[0], s[1]] + logp[s[1], s[2]])
    out, score = beam_search(bigram(table), torch.tensor([[1]]), 3, beam_size=4, return_scores=True)
    assert out[0].tolist() == list(best)
    assert score[0].item() == pytest.approx(float(logp[1, best[0]] + logp[best[0], best[1]] + logp[best[1], best[2]]), rel=1e-5)


def test_top_k_keeps_the_k_largest():
    logits = torch.tensor([[1.0, 4.0, 2.0, 3.0]])
    kept = torch.isfinite(filter_logits(logits, top_k=2))
    assert kept.tolist() == [[False, True, False, True]]


@pytest.mark.parametrize("p,kept", [(0.4, {2}), (0.75, {2, 0}), (0.85, {2, 0, 3}), (0.97, {0, 1, 2, 3}), (1.0, {0, 1, 2, 3})])
def test_top_p_keeps_the_smallest_set_reaching_p(p, kept):
    probs = torch.tensor([[0.3, 0.05, 0.5, 0.15]])
    out = filter_logits(probs.log(), top_p=p)
    assert set(torch.isfinite(out)[0].nonzero()[:, 0].tolist()) == kept
    # the kept set reaches p, and without its least probable member it would not
    mass = probs[0, sorted(kept)].sum().item()
    assert mass >= p - 1e-6 and mass - min(probs[0, sorted(kept)]).item() < p


@pytest.mark.parametrize("seed", range(3))
def test_top_k_one_and_cold_temperature_are_greedy(seed):
    g = torch.Generator().manual_seed(seed)
    table = torch.randn(11, 11, generator=g) * 2
    prefix = torch.randint(0, 11, (5, 1), generator=g)
    want = greedy(bigram(table), prefix, 10)
    for kwargs in ({"top_k": 1, "temperature": 1.5}, {"temperature": 1e-4}, {"temperature": 0.0}, {"top_p": 1e-6}):
        got = sample(bigram(table), prefix, 10, generator=torch.Generator().manual_seed(seed + 7), **kwargs)
        assert torch.equal(got, want), kwargs
    warm = sample(bigram(table), prefix, 10, temperature=2.0, generator=torch.Generator().manual_seed(seed))
    assert not torch.equal(warm, want)  # a real draw differs (so the test can fail)


def test_sampled_frequencies_follow_the_tempered_distribution():
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0])
    n = 40000
    step = lambda prefix: logits.expand(prefix.shape[0], -1)  # noqa: E731
    prefix = torch.zeros((n, 1), dtype=torch.long)
    draws = sample(step, prefix, 1, temperature=0.7, generator=torch.Generator().manual_seed(0))[:, 0]
    freq = torch.bincount(draws, minlength=4).float() / n
    assert torch.allclose(freq, torch.softmax(logits / 0.7, -1), atol=0.01)
    # nucleus 0.8: softmax(logits) = 0.644, 0.237, 0.087, 0.032 -> {0, 1} renormalized
    draws = sample(step, prefix, 1, top_p=0.8, generator=torch.Generator().manual_seed(1))[:, 0]
    freq = torch.bincount(draws, minlength=4).float() / n
    p = torch.softmax(logits, -1)[:2]
    assert freq[2:].sum() == 0 and torch.allclose(freq[:2], p / p.sum(), atol=0.01)


def test_sampling_is_seeded_and_stops_at_eos():
    table = torch.zeros(5, 5)
    a = sample(bigram(table), torch.zeros((3, 1), dtype=torch.long), 30, generator=torch.Generator().manual_seed(4), eos=4)
    b = sample(bigram(table), torch.zeros((3, 1), dtype=torch.long), 30, generator=torch.Generator().manual_seed(4), eos=4)
    c = sample(bigram(table), torch.zeros((3, 1), dtype=torch.long), 30, generator=torch.Generator().manual_seed(5), eos=4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    for row in a.tolist():
        if 4 in row:
            assert all(t == 0 for t in row[row.index(4) + 1:])  # padded after eos
