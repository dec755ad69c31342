"""Stage 1: batched logits processors with per-request parameters, seeded per request.

Exact checks first (greedy and ties, bias, penalty arithmetic, top-k, top-p, min-p and their
order, adversarial inputs, errors), then the whole pipeline against a float64 reference on
random batches, then sampling: chi-square against the exact distribution (alpha 0.001, fixed
seeds) and batch invariance of seeded requests."""
import math

import pytest
import torch
from conftest import chi_square, reference_row

from tui.core.labs.testing import load_lab_module

NEG = float("-inf")


@pytest.fixture
def s(lab_dir):
    return load_lab_module(lab_dir, "sampler.py")


def seqs(s, n=1, prompt=(), output=(), **params):
    return [s.Sequence(s.SamplingParams(**params), list(prompt), list(output)) for _ in range(n)]


def finite(row):
    return [i for i, v in enumerate(row.tolist()) if v > NEG]


# ------------------------------------------------------------------ parameters

@pytest.mark.parametrize("bad", [dict(temperature=-0.1), dict(top_p=0.0), dict(top_p=1.5), dict(min_p=-0.1),
                                 dict(min_p=1.1), dict(top_k=-2), dict(repetition_penalty=0.0)])
def test_invalid_parameters_raise(s, bad):
    with pytest.raises(ValueError):
        s.SamplingParams(**bad)


def test_seed_builds_a_generator(s):
    a, b = s.Sequence(s.SamplingParams(seed=5), [1]), s.Sequence(s.SamplingParams(), [1])
    assert isinstance(a.generator, torch.Generator) and b.generator is None


# ------------------------------------------------------------------ greedy, ties, tiny temperatures

def test_greedy_takes_the_argmax_lowest_id_on_ties(s):
    logits = torch.tensor([[1.0, 7.0, 7.0, 3.0, 7.0],
                           [NEG, -5.0, NEG, -5.0, -6.0],
                           [0.0, 0.0, 0.0, 0.0, 0.0]])
    batch = seqs(s, 1, temperature=0.0) + seqs(s, 1, temperature=0.0) + seqs(s, 1, temperature=1e-6)
    assert s.sample(logits.clone(), batch).tolist() == [1, 1, 0]
    probs = s.compute_probs(logits.clone(), batch)
    assert probs.tolist() == [[0, 1, 0, 0, 0], [0, 1, 0, 0, 0], [1, 0, 0, 0, 0]], \
        "a greedy row's distribution is one-hot at its argmax (temperature < 1e-5 is greedy)"


def test_greedy_sees_bias_and_penalties(s):
    logits = torch.tensor([[5.0, 4.0, 1.0]])
    assert s.sample(logits.clone(), seqs(s, temperature=0, logit_bias={2: 10.0})).tolist() == [2]
    assert s.sample(logits.clone(), seqs(s, temperature=0, output=[0], presence_penalty=1.5)).tolist() == [1]


def test_tiny_temperature_is_sharp_but_random(s):
    """1e-4 is above the greedy threshold: tied maxima share the mass; nothing is NaN."""
    logits = torch.tensor([[3.0, 10.0, 10.0, 9.99, -50.0]])
    probs = s.compute_probs(logits.clone(), seqs(s, temperature=1e-4))
    assert not probs.isnan().any()
    assert probs[0].tolist() == pytest.approx([0, 0.5, 0.5, 0, 0], abs=1e-6)


def test_large_logits_and_minus_inf(s):
    logits = torch.tensor([[3e4, 3e4 - 1, -3e4, NEG, 3e4 - 1]])
    probs = s.compute_probs(logits.clone(), seqs(s, temperature=1.0))
    e = [1.0, math.exp(-1), 0.0, 0.0, math.exp(-1.0)]
    assert probs[0].tolist() == pytest.approx([v / sum(e) for v in e], abs=1e-4)
    probs = s.compute_probs(torch.tensor([[1e30, 0.0, NEG]]), seqs(s, temperature=0.5))
    assert probs[0].tolist() == [1.0, 0.0, 0.0]


def test_every_token_masked_is_a_clear_error(s):
    logits = torch.tensor([[0.0, 1.0, 2.0], [NEG, NEG, NEG], [1.0, NEG, NEG]])
    with pytest.raises(ValueError, match=r"\b1\b"):
        s.sample(logits, seqs(s, 3, temperature=1.0))
    with pytest.raises(ValueError):
        s.compute_probs(torch.tensor([[NEG, NEG]]), seqs(s, temperature=0.0))
    biased = seqs(s, temperature=0.7, logit_bias={0: NEG})
    with pytest.raises(ValueError):
        s.sample(torch.tensor([[0.0, NEG]]), biased)


def test_batch_size_mismatch_raises(s):
    with pytest.raises(ValueError):
        s.sample(torch.zeros(3, 5), seqs(s, 2))


# ------------------------------------------------------------------ bias and penalties, exactly

def test_logit_bias_per_row(s):
    logits = torch.zeros(3, 7)
    out = s.apply_logit_bias(logits, [{1: 2.5, 6: -1.0}, None, {0: NEG}])
    want = torch.zeros(3, 7)
    want[0, 1], want[0, 6], want[2, 0] = 2.5, -1.0, NEG
    assert torch.equal(out, want)


def test_penalty_arithmetic_follows_vllm(s):
    """Repetition over prompt + output (divide positive, multiply the rest, once per token however
    often it repeats); frequency times the OUTPUT count; presence once per distinct OUTPUT token."""
    logits = torch.tensor([[1.0, 2.0, -1.0, 3.0, 0.5, NEG, 0.0],
                           [1.0, 2.0, -1.0, 3.0, 0.5, NEG, 0.0]])
    out = s.apply_penalties(logits.clone(), [[1, 1, 2, 6], [3, 3]], [[2, 3, 3, 3], []],
                            torch.tensor([2.0, 1.0]), torch.tensor([0.5, 0.5]), torch.tensor([0.25, 0.25]))
    # row 0: 0 unseen; 1 prompt only: 2/2; 2 prompt and output once: -1*2 - 0.5 - 0.25;
    # 3 output x3: 3/2 - 1.5 - 0.25; 4 unseen; 5 stays -inf; 6 prompt, logit 0: 0*2
    assert out[0].tolist() == [1.0, 1.0, -2.75, -0.25, 0.5, NEG, 0.0]
    # row 1: repetition 1 is a no-op; prompt tokens never pay frequency or presence
    assert out[1].tolist() == [1.0, 2.0, -1.0, 3.0, 0.5, NEG, 0.0]


def test_negative_penalties_reward(s):
    out = s.apply_penalties(torch.tensor([[1.0, -2.0, 0.0]]), [[]], [[0, 0, 1]],
                            torch.tensor([0.5]), torch.tensor([-1.0]), torch.tensor([-0.5]))
    # 0: 1/0.5 + 2 + 0.5; 1: -2*0.5 + 1 + 0.5
    assert out[0].tolist() == [4.5, 0.5, 0.0]


def test_bias_comes_before_penalties(s):
    """vLLM applies logit_bias (a non-argmax-invariant logits processor) before the penalties:
    1.0 + (-2.0) = -1.0, then repetition 2 multiplies it: -2.0 (not 1/2 - 2 = -1.5)."""
    seq = seqs(s, prompt=[0], repetition_penalty=2.0, logit_bias={0: -2.0}, temperature=1.0)
    probs = s.compute_probs(torch.tensor([[1.0, 0.0]]), seq)
    want = torch.tensor([-2.0, 0.0]).softmax(-1)
    assert probs[0].tolist() == pytest.approx(want.tolist(), abs=1e-6)


# ------------------------------------------------------------------ top-k, top-p, min-p, exactly

PROBS = [0.5, 0.3, 0.15, 0.05]


def kept(s, probs=PROBS, k=None, p=None):
    logits = torch.tensor([probs]).log()
    out = s.apply_top_k_top_p(logits, None if k is None else torch.tensor([k]),
                              None if p is None else torch.tensor([p], dtype=torch.float32))
    return finite(out[0])


def test_top_k(s):
    assert kept(s, k=2) == [0, 1]
    assert kept(s, k=1) == [0]
    for off in (0, -1, 4, 5, 10_000):
        assert kept(s, k=off) == [0, 1, 2, 3], f"top_k={off} keeps everything"
    assert kept(s, [0.3, 0.2, 0.3, 0.2], k=1) == [0, 2], "tokens tied with the k-th are kept"
    assert kept(s, [0.3, 0.2, 0.3, 0.2], k=3) == [0, 1, 2, 3]


def test_top_p_keeps_the_token_that_crosses_p(s):
    assert kept(s, p=0.7) == [0, 1], "0.5 < 0.7, so the token that crosses p (0.3) is in the nucleus"
    assert kept(s, p=0.4) == [0]
    assert kept(s, p=0.55) == [0, 1]
    assert kept(s, p=0.9) == [0, 1, 2]
    assert kept(s, p=0.97) == [0, 1, 2, 3]
    assert kept(s, p=1e-6) == [0], "the most likely token is always kept"
    assert kept(s, k=3, p=0.9) == [0, 1, 2]
    assert kept(s, k=2, p=0.97) == [0, 1], "top-p runs on the top-k survivors, renormalised"


def test_top_p_ties_and_unsorted_order(s):
    assert kept(s, [0.3, 0.4, 0.3], p=0.5) == [0, 1, 2], "tokens tied with the last kept one are kept"
    assert kept(s, [0.05, 0.15, 0.5, 0.3], p=0.7) == [2, 3]


def test_top_p_one_and_top_k_vocab_are_no_ops(s):
    """Tiny probabilities must survive top_p = 1.0: in float32 the mass ahead of them rounds to 1."""
    logits = torch.tensor([[0.0, -60.0, -90.0, -100.0, NEG, 3.0, 2.0]])
    out = s.apply_top_k_top_p(logits.clone(), torch.tensor([7]), torch.tensor([1.0]))
    assert torch.equal(out, logits)


def test_top_k_top_p_per_row(s):
    logits = torch.tensor([PROBS, PROBS, PROBS]).log()
    out = s.apply_top_k_top_p(logits, torch.tensor([1, 4, 0]), torch.tensor([1.0, 0.7, 0.4]))
    assert [finite(r) for r in out] == [[0], [0, 1], [0]]


def test_min_p(s):
    logits = torch.tensor([PROBS, PROBS]).log()
    out = s.apply_min_p(logits, torch.tensor([0.2, 0.5]))
    # thresholds 0.5 * 0.2 = 0.1 and 0.5 * 0.5 = 0.25
    assert [finite(r) for r in out] == [[0, 1, 2], [0, 1]]


def test_min_p_reads_tempered_probabilities(s):
    """vLLM applies temperature first and min-p after it (an argmax-invariant processor). At
    temperature 0.5 token 1's ratio to the best is e^-2 = 0.135 < 0.2: dropped; at 1.0 it would
    be e^-1 = 0.37 and survive. At temperature 2, token 2 (e^-1 = 0.37) survives."""
    logits = torch.tensor([[0.0, -1.0, -2.0]])
    cold = s.compute_probs(logits.clone(), seqs(s, temperature=0.5, min_p=0.2))
    assert cold[0].tolist() == pytest.approx([1.0, 0.0, 0.0])
    hot = s.compute_probs(logits.clone(), seqs(s, temperature=2.0, min_p=0.2))
    assert hot[0].tolist() == pytest.approx(torch.tensor([0.0, -0.5, -1.0]).softmax(-1).tolist(), abs=1e-6)


def test_temperature_divides_non_greedy_rows_only(s):
    out = s.apply_temperature(torch.tensor([[2.0, -4.0], [2.0, -4.0]]), torch.tensor([0.5, 0.0]))
    assert out.tolist() == [[4.0, -8.0], [2.0, -4.0]]


# ------------------------------------------------------------------ the whole pipeline against the reference

def random_batch(s, gen, B, V):
    logits = torch.randn(B, V, generator=gen) * 3
    logits[torch.rand(B, V, generator=gen) < 0.05] = NEG
    logits[:, 0] = logits[:, 0].clamp_min(-1e3)  # no row fully masked
    logits[1, 3] = logits[1, 5] = logits[1].max() + 1  # duplicate maxima
    logits[2] *= 1e3  # large magnitudes
    rows, batch = [], []
    for i in range(B):
        r = lambda: float(torch.rand(1, generator=gen))  # noqa: E731
        p = dict(temperature=[0.0, 0.3, 1.0, 1.7][i % 4], top_k=[0, 3, V, 17, -1][i % 5],
                 top_p=[1.0, 0.9, 0.5, 0.75][i % 4 if i % 3 else 0], min_p=[0.0, 0.05, 0.2][i % 3],
                 repetition_penalty=[1.0, 1.3, 0.8][i % 3], frequency_penalty=[0.0, 0.4, -0.3][i % 3],
                 presence_penalty=[0.0, 0.5][i % 2], logit_bias={int(r() * V): r() * 4 - 2} if i % 2 else None)
        prompt = torch.randint(0, V, (int(r() * 12),), generator=gen).tolist()
        output = torch.randint(0, V, (int(r() * 8),), generator=gen).tolist()
        rows.append((p, prompt, output))
        batch.append(s.Sequence(s.SamplingParams(**p), prompt, output))
    return logits, rows, batch


@pytest.mark.parametrize("V", [97, 131])
def test_pipeline_matches_the_reference(s, V):
    gen = torch.Generator().manual_seed(V)
    logits, rows, batch = random_batch(s, gen, 48, V)
    probs = s.compute_probs(logits.clone(), batch)
    assert probs.shape == (48, V) and probs.dtype == torch.float32
    checked = 0
    for i, (p, prompt, output) in enumerate(rows):
        want, fragile = reference_row(logits[i].tolist(), prompt, output, **p)
        if fragile:
            continue
        checked += 1
        assert probs[i].tolist() == pytest.approx(want, abs=2e-5), f"row {i} with {p}, prompt {prompt}, output {output}"
    assert checked >= 40


# ------------------------------------------------------------------ sampling: distributions and seeds

CASES = {
    "temperature": dict(temperature=0.7),
    "top-k": dict(temperature=1.3, top_k=4),
    "top-p": dict(temperature=1.0, top_p=0.8),
    "min-p": dict(temperature=1.5, min_p=0.12),
    "everything": dict(temperature=0.9, top_k=6, top_p=0.9, min_p=0.02, repetition_penalty=1.5,
                       frequency_penalty=0.3, presence_penalty=0.2, logit_bias={7: 1.0}),
}
LOGITS11 = [2.0, 1.2, 0.9, 0.4, 0.0, -0.3, -1.0, 0.5, NEG, 1.5, -2.0]


@pytest.mark.parametrize("case", list(CASES))
def test_sampled_tokens_follow_the_distribution(s, case):
    """6000 rows (one request each, default generator seeded) against the exact distribution."""
    n, prompt, output = 6000, [0, 9, 3], [0, 7, 7]
    torch.manual_seed(2024)
    tokens = s.sample(torch.tensor([LOGITS11]).repeat(n, 1), seqs(s, n, prompt, output, **CASES[case]))
    assert tokens.shape == (n,) and tokens.dtype == torch.int64
    want, _ = reference_row(LOGITS11, prompt, output, **CASES[case])
    chi_square(torch.bincount(tokens, minlength=11), want, case)


def test_seeded_rows_follow_the_distribution(s):
    """Every row with its own seed: the per-row generators must give the same distribution."""
    n = 5000
    batch = [s.Sequence(s.SamplingParams(temperature=1.2, top_p=0.9, seed=10_000 + i), []) for i in range(n)]
    tokens = s.sample(torch.tensor([LOGITS11]).repeat(n, 1), batch)
    want, _ = reference_row(LOGITS11, [], [], temperature=1.2, top_p=0.9)
    chi_square(torch.bincount(tokens, minlength=11), want, "seeded rows")


def decode(s, batch, logits_fn, steps, watch):
    """Run `steps` decode steps, appending each sampled token; returns the watched row's tokens."""
    got = []
    for step in range(steps):
        tokens = s.sample(logits_fn(step, len(batch)), batch)
        for seq, t in zip(batch, tokens.tolist(), strict=True):
            seq.output_token_ids.append(t)
        got.append(int(tokens[watch]))
    return got


def test_same_seed_same_tokens_whatever_the_batch(s):
    V = 50_257  # GPT-2's vocabulary: a multiple of nothing useful

    def logits_fn(step, b):
        g = torch.Generator().manual_seed(step)
        return (torch.randn(V, generator=g) * 2).expand(b, V).clone()

    def seeded(seed=1234):
        return s.Sequence(s.SamplingParams(temperature=1.0, top_p=0.95, presence_penalty=0.3, seed=seed), [5, 6])

    alone = decode(s, [seeded()], logits_fn, 6, 0)
    others = [s.Sequence(s.SamplingParams(temperature=0.8, seed=7), [1]),
              s.Sequence(s.SamplingParams(temperature=1.0), [2]),
              s.Sequence(s.SamplingParams(temperature=0.0, seed=99), [3])]
    torch.manual_seed(0)
    mixed = decode(s, others[:2] + [seeded()] + others[2:] + [s.Sequence(s.SamplingParams(seed=3), [])],
                   logits_fn, 6, 2)
    assert mixed == alone, "a seeded request drew different tokens once other requests shared its batch"
    twice = [seeded(), seeded()]
    a = decode(s, twice, logits_fn, 6, 0)
    assert [t for t in twice[1].output_token_ids] == a, "two rows with the same seed must agree"
    other_seed = decode(s, [seeded(4321)], logits_fn, 6, 0)
    assert other_seed != alone, "different seeds gave identical tokens over 6 steps of a 50257-token vocabulary"
