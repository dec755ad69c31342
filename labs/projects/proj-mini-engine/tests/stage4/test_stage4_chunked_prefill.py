"""Stage 4: chunked prefill: prompts longer than the budget are computed across steps."""
import pytest
from conftest import assert_matches_transformers, greedy, model_for, run_engine

CHUNKED = dict(enable_chunked_prefill=True, enable_prefix_caching=False)


@pytest.mark.parametrize("budget", [24, 40])
def test_chunked_greedy_equals_transformers(lab, ref, budget):
    """Budgets far below the 150- and 200-token prompts (and many of the others)."""
    engine, done = run_engine(lab, ref, max_num_seqs=8, max_num_batched_tokens=budget, **CHUNKED)
    assert_matches_transformers(ref, done)
    assert max(sum(n for _, n in s) for s in engine.step_log) <= budget
    assert any(n < len(ref.prompts[int(r)]) and n > 1 for s in engine.step_log for r, n in s), "nothing was chunked"


def make(lab, ref, budget):
    return lab.engine.LLMEngine(model_for(lab, ref), lab.engine.EngineConfig(
        block_size=8, num_blocks=200, max_num_batched_tokens=budget, max_num_seqs=8, device="cpu", **CHUNKED))


def test_chunk_schedule_and_no_token_from_a_partial_prefill(lab, ref):
    e = make(lab, ref, budget=16)
    e.add_request("L", ref.prompts[22][:50], greedy(lab, 3))
    produced = [e.step() for _ in range(3)]
    assert produced == [[], [], []], "a partial prefill must not emit a token"
    out = e.step()
    assert [o.request_id for o in out] == ["L"] and len(out[0].token_ids) == 1
    assert [s[0][1] for s in e.step_log] == [16, 16, 16, 2]


def test_decodes_continue_while_a_long_prompt_is_chunked(lab, ref):
    """Running decodes take their token first; the long prompt gets what is left of the budget."""
    short = min(range(14), key=lambda i: len(ref.prompts[i]))
    budget = len(ref.prompts[short]) + 16  # the short prompt fits in one step
    e = make(lab, ref, budget=budget)
    e.add_request("s", ref.prompts[short], greedy(lab, ref.max_new[short]))
    e.step()
    e.add_request("long", ref.prompts[23], greedy(lab, ref.max_new[23]))  # 200 tokens
    outs = {"s": list(e.requests["s"].output_token_ids), "long": []}
    while e.has_unfinished_requests():
        for o in e.step():
            outs[o.request_id].extend(o.new_token_ids)
    step = e.step_log[1]
    assert step == [("s", 1), ("long", budget - 1)], step
    assert e.step_log[2] == [("s", 1), ("long", budget - 1)]
    assert outs["s"] == ref.greedy[short] and outs["long"] == ref.greedy[23]


def test_first_token_equals_unchunked(lab, ref):
    """The 200-token prompt in chunks of 7 gives transformers' first token (and the rest)."""
    engine, done = run_engine(lab, ref, [23], max_num_seqs=1, max_num_batched_tokens=7, **CHUNKED)
    assert done[23] == ref.greedy[23]
    assert [s[0][1] for s in engine.step_log[:29]] == [7] * 28 + [4]
