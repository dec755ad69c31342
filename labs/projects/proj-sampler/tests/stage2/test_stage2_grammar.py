"""Stage 2: grammar-constrained decoding. The character DFA (grammar.Regex) is given; the token
index (which multi-character tokens may follow a DFA state, and where each leads), the
per-request Grammar (state, accept, terminate, rollback) and the mask in the sampler are yours.

Python's `re` is the oracle for what was generated: every terminated output must fullmatch."""
import re

import pytest
import torch
from conftest import chi_square, reference_row

from tui.core.labs.testing import load_lab_module

NEG = float("-inf")
EOS = 0


@pytest.fixture
def g(lab_dir):
    return load_lab_module(lab_dir, "grammar.py")


@pytest.fixture
def s(lab_dir):
    return load_lab_module(lab_dir, "sampler.py")


AB = ["<eos>", "a", "b", "ab", "ba", "c", "abc", "x", "aa", "bc", "cab", "", "cc"]


def allowed_ids(grammar):
    mask = grammar.allowed_tokens()
    assert mask.dtype == torch.bool and mask.shape == (len(grammar.index.vocab),)
    return mask.nonzero().flatten().tolist()


def expected_ids(regex, vocab, state):
    """Oracle from the given DFA: a token is allowed iff reading all its characters keeps a match alive."""
    ids = [t for t, text in enumerate(vocab) if t != EOS and text and regex.walk(text, state) is not None]
    return sorted(ids + ([EOS] if regex.is_accepting(state) else []))


def test_mask_walks_every_character_of_a_token(g):
    rx = g.Regex("(ab|a)*c")
    grammar = g.Grammar(g.TokenIndex(rx, AB, EOS))
    assert allowed_ids(grammar) == [1, 3, 5, 6, 8], "at the start: a, ab, c, abc, aa (not 'ba', 'cab', 'x', '')"
    assert grammar.accept_token(1)  # "a"
    assert grammar.state == rx.walk("a")
    assert allowed_ids(grammar) == expected_ids(rx, AB, grammar.state)
    assert 4 in allowed_ids(grammar) and 9 in allowed_ids(grammar), "'ba' and 'bc' may follow 'a'"
    assert grammar.accept_token(4)  # "ba" -> "aba"
    assert grammar.state == rx.walk("aba")


def test_eos_only_where_the_text_may_end(g):
    rx = g.Regex("(ab|a)*c")
    grammar = g.Grammar(g.TokenIndex(rx, AB, EOS))
    assert EOS not in allowed_ids(grammar)
    assert grammar.accept_token(6)  # "abc": complete
    assert allowed_ids(grammar) == [EOS], "after 'abc' only EOS may follow"
    assert not grammar.is_terminated(), "accepting state reached, but the request ends with EOS"
    assert grammar.accept_token(EOS) and grammar.is_terminated()
    assert allowed_ids(grammar) == [], "a terminated grammar allows nothing"
    assert not grammar.accept_token(EOS)


def test_accepting_state_with_continuations(g):
    rx = g.Regex(r"-?\d+")
    vocab = ["</s>", "-", "1", "23", "-4", "5-", "x", "007"]
    grammar = g.Grammar(g.TokenIndex(rx, vocab, EOS))
    assert allowed_ids(grammar) == [1, 2, 3, 4, 7]
    assert grammar.accept_token(4)
    assert allowed_ids(grammar) == [0, 2, 3, 7], "digits may go on, or EOS ends the number"


def test_disallowed_token_changes_nothing(g):
    rx = g.Regex("(ab|a)*c")
    grammar = g.Grammar(g.TokenIndex(rx, AB, EOS))
    grammar.accept_token(3)
    state = grammar.state
    for bad in (EOS, 2, 7, 10, 11):
        assert grammar.accept_token(bad) is False
        assert grammar.state == state and not grammar.is_terminated()


def test_rollback_restores_states(g):
    rx = g.Regex("(ab|a)*c")
    grammar = g.Grammar(g.TokenIndex(rx, AB, EOS))
    states = [grammar.state]
    for t in (1, 3, 8, 5, EOS):
        assert grammar.accept_token(t)
        states.append(grammar.state)
    assert grammar.is_terminated()
    grammar.rollback(1)
    assert not grammar.is_terminated() and grammar.state == states[4]
    grammar.rollback(3)
    assert grammar.state == states[1] and allowed_ids(grammar) == expected_ids(rx, AB, states[1])
    with pytest.raises(ValueError):
        grammar.rollback(2)


def test_index_is_shared_and_validated(g):
    rx = g.Regex("a+")
    index = g.TokenIndex(rx, ["<eos>", "a", "aa"], EOS)
    one, two = g.Grammar(index), g.Grammar(index)
    one.accept_token(2)
    assert two.state == rx.start and allowed_ids(two) == [1, 2], "requests sharing an index keep their own state"
    with pytest.raises(ValueError):
        g.TokenIndex(rx, ["a"], 3)


# ------------------------------------------------------------------ the mask in the sampler

def test_mask_comes_first_in_the_sampler(g, s):
    """The mask is applied to the logits before anything else: greedy, min-p and top-p all see
    only the allowed tokens. Token 1 ('b') is the favourite but the grammar forbids it."""
    rx = g.Regex("a(a|c)*")
    vocab = ["<eos>", "b", "a", "c", "aa"]
    logits = torch.tensor([[0.0, 3.0, 1.0, 0.2, 0.1]])

    def probs(**params):
        seq = s.Sequence(s.SamplingParams(**params), [], grammar=g.Grammar(g.TokenIndex(rx, vocab, EOS)))
        return s.compute_probs(logits.clone(), [seq])[0].tolist()

    assert probs(temperature=0.0) == [0, 0, 1, 0, 0]
    allowed = torch.tensor([NEG, NEG, 1.0, NEG, 0.1]).softmax(-1)  # 'a' and 'aa' only
    assert probs(temperature=1.0) == pytest.approx(allowed.tolist(), abs=1e-6)
    assert probs(temperature=1.0, top_p=0.6) == pytest.approx([0, 0, 1, 0, 0]), \
        "the nucleus is taken over the allowed tokens (0.71 of the allowed mass is 'a')"
    assert probs(temperature=1.0, min_p=0.35) == pytest.approx(allowed.tolist(), abs=1e-6), \
        "min-p is relative to the best ALLOWED token ('aa' is 0.41 of 'a')"


def test_apply_token_mask(s):
    logits = torch.tensor([[1.0, 2.0, NEG], [0.5, 0.5, 0.5]])
    out = s.apply_token_mask(logits.clone(), torch.tensor([[True, False, True], [False, True, True]]))
    assert out.tolist() == [[1.0, NEG, NEG], [NEG, 0.5, 0.5]]


def test_dead_end_and_terminated_rows_raise(g, s):
    """A grammar no token can continue (no 'x' in the vocabulary) leaves a row with nothing to
    sample: a clear error naming the row, not a NaN or a random token."""
    vocab = ["<eos>", "a", "b"]
    free = s.Sequence(s.SamplingParams(), [])
    stuck = s.Sequence(s.SamplingParams(), [], grammar=g.Grammar(g.TokenIndex(g.Regex("x+"), vocab, EOS)))
    with pytest.raises(ValueError, match=r"\b1\b"):
        s.sample(torch.zeros(2, 3), [free, stuck])
    done = g.Grammar(g.TokenIndex(g.Regex("a"), vocab, EOS))
    assert done.accept_token(1) and done.accept_token(EOS)
    with pytest.raises(ValueError):
        s.sample(torch.zeros(1, 3), [s.Sequence(s.SamplingParams(temperature=0.0), [], grammar=done)])


def test_masked_sampling_distribution(g, s):
    """5000 rows in the same grammar state: tokens follow the softmax over the allowed tokens."""
    rx = g.Regex(r"\d+(\.\d+)?")
    vocab = ["<eos>", "1", "2", "3.", ".5", "x", "12", "-", "..", "9", "4.2"]
    index = g.TokenIndex(rx, vocab, EOS)
    logits = torch.tensor([0.3, 0.1, -0.2, 0.4, 1.5, 2.0, 0.0, 1.0, 0.7, -0.5, 0.2])
    n = 5000
    batch = []
    for _ in range(n):
        grammar = g.Grammar(index)
        assert grammar.accept_token(1)  # "1"
        batch.append(s.Sequence(s.SamplingParams(temperature=0.8, top_p=0.9), [], grammar=grammar))
    torch.manual_seed(77)
    tokens = s.sample(logits.expand(n, -1).clone(), batch)
    mask = [t == EOS or (bool(text) and rx.walk(text, rx.walk("1")) is not None) for t, text in enumerate(vocab)]
    want, _ = reference_row(logits.tolist(), [], [], temperature=0.8, top_p=0.9, allowed=mask)
    chi_square(torch.bincount(tokens, minlength=len(vocab)), want, "masked")


# ------------------------------------------------------------------ constrained generation end to end

JSON_VOCAB = ["<eos>", "{", "}", '{"', '"', '":', "a", 'a"', '"a"', ":", "true", "tr", "ue", "false", "fal",
              "se", "1", "23", "4", "0", ",", " ", "null", '"b":', "b", "}}", '{"a":', "x", "e", "s"]
CASES = [
    (r"-?\d+(\.\d+)?", ["<eos>", "-", "1", "23", "4.", ".5", "6", ".", "-7", "x", "..", "0.0", "5"]),
    ("(yes|no|maybe)", ["<eos>", "y", "ye", "yes", "es", "s", "n", "no", "o", "may", "be", "m", "a", "yb", "e"]),
    (r'\{"a":(true|false|\d+)(,"b":(true|false))?\}', JSON_VOCAB),
]


@pytest.mark.parametrize("pattern,vocab", CASES, ids=["number", "choice", "json-lite"])
def test_generated_text_matches_the_pattern(g, s, pattern, vocab):
    rx = g.Regex(pattern)
    index = g.TokenIndex(rx, vocab, EOS)
    B, V = 64, len(vocab)
    batch = [s.Sequence(s.SamplingParams(temperature=1.0, seed=i), [], grammar=g.Grammar(index)) for i in range(B)]
    model = torch.Generator().manual_seed(len(pattern))
    texts = [""] * B
    live = list(range(B))
    for _ in range(40):
        if not live:
            break
        logits = torch.randn(len(live), V, generator=model) * 2
        logits[:, EOS] += 1.0  # a toy model that likes to stop
        tokens = s.sample(logits, [batch[i] for i in live]).tolist()
        for i, t in zip(live, tokens, strict=True):
            assert batch[i].grammar.accept_token(t), f"the sampler chose token {vocab[t]!r}, which the mask forbids"
            batch[i].output_token_ids.append(t)
            if t != EOS:
                texts[i] += vocab[t]
        live = [i for i in live if not batch[i].grammar.is_terminated()]
    done = [i for i in range(B) if batch[i].grammar.is_terminated()]
    assert len(done) >= B // 2, f"only {len(done)} of {B} requests terminated in 40 steps"
    for i in done:
        assert re.fullmatch(pattern, texts[i]), f"terminated output {texts[i]!r} does not match {pattern!r}"
    for i in set(range(B)) - set(done):
        assert rx.walk(texts[i]) is not None, f"unfinished output {texts[i]!r} cannot complete a match"
    assert len({texts[i] for i in done}) >= 3, "constrained sampling should still vary"
