"""Stage 3: continuous batching under a token budget (no chunking, no prefix caching yet)."""
import pytest
from conftest import assert_matches_transformers, greedy, model_for, run_engine

NO_EXTRAS = dict(enable_chunked_prefill=False, enable_prefix_caching=False)


@pytest.mark.parametrize("max_num_seqs,budget", [(4, 256), (16, 512)])
def test_batched_greedy_equals_transformers(lab, ref, max_num_seqs, budget):
    engine, done = run_engine(lab, ref, max_num_seqs=max_num_seqs, max_num_batched_tokens=budget, **NO_EXTRAS)
    assert_matches_transformers(ref, done)
    assert engine.kv.pool.num_free_blocks == 399, "finished requests must give their blocks back"
    for step in engine.step_log:
        assert sum(n for _, n in step) <= budget and len(step) <= max_num_seqs


def make(lab, ref, budget, max_num_seqs, num_blocks=200):
    return lab.engine.LLMEngine(model_for(lab, ref), lab.engine.EngineConfig(
        block_size=8, num_blocks=num_blocks, max_num_batched_tokens=budget, max_num_seqs=max_num_seqs,
        device="cpu", **NO_EXTRAS))


def test_hand_computed_schedule(lab, ref):
    """Budget 20 tokens, 3 sequences at most. Prompts 8, 8, 8, 4 tokens; 2, 5, 5, 5 new tokens."""
    e = make(lab, ref, budget=20, max_num_seqs=3)
    for rid, (n, out) in zip("ABCD", ((8, 2), (8, 5), (8, 5), (4, 5)), strict=True):
        e.add_request(rid, list(range(10, 10 + n)), greedy(lab, out))
    while e.has_unfinished_requests():
        e.step()
    assert e.step_log[:5] == [
        [("A", 8), ("B", 8)],  # C's 8 tokens do not fit in the 4 left: wait (no chunking)
        [("A", 1), ("B", 1), ("C", 8)],  # running first, then C joins: 3 sequences
        [("B", 1), ("C", 1), ("D", 4)],  # A finished after 2 tokens and left; D takes its seat
        [("B", 1), ("C", 1), ("D", 1)],
        [("B", 1), ("C", 1), ("D", 1)],
    ]
    assert len(e.step_log) == 7  # B ends at step 5, C at 6, D at 7


def test_fcfs_does_not_skip_a_request_that_does_not_fit(lab, ref):
    """The head of the queue needs more than the budget left: nothing behind it jumps ahead."""
    e = make(lab, ref, budget=16, max_num_seqs=8)
    e.add_request("A", list(range(10, 20)), greedy(lab, 3))
    e.add_request("B", list(range(30, 42)), greedy(lab, 3))  # 12 > 6 left
    e.add_request("C", [7, 8], greedy(lab, 3))  # would fit, but B is first
    e.step()
    assert e.step_log[0] == [("A", 10)]
    e.step()
    assert e.step_log[1] == [("A", 1), ("B", 12), ("C", 2)]


def test_requests_join_between_steps_and_leave_when_done(lab, ref):
    e = make(lab, ref, budget=512, max_num_seqs=8)
    e.add_request("0", ref.prompts[0], greedy(lab, ref.max_new[0]))
    e.add_request("1", ref.prompts[1], greedy(lab, ref.max_new[1]))
    outs = {}
    for _ in range(3):
        for o in e.step():
            outs.setdefault(o.request_id, []).extend(o.new_token_ids)
    e.add_request("2", ref.prompts[2], greedy(lab, ref.max_new[2]))  # arrives while 0 and 1 decode
    for o in e.step():
        outs.setdefault(o.request_id, []).extend(o.new_token_ids)
    assert [rid for rid, _ in e.step_log[3]] == ["0", "1", "2"] and e.step_log[3][2][1] == len(ref.prompts[2])
    while e.has_unfinished_requests():
        for o in e.step():
            outs.setdefault(o.request_id, []).extend(o.new_token_ids)
            if o.finished:
                assert o.finish_reason == "length" and len(o.token_ids) == ref.max_new[int(o.request_id)]
    for i in range(3):
        assert outs[str(i)] == ref.greedy[i], f"request {i}"
    assert e.kv.pool.num_free_blocks == 199


def test_max_num_seqs_caps_the_batch(lab, ref):
    e = make(lab, ref, budget=1024, max_num_seqs=2)
    for i in range(5):
        e.add_request(str(i), ref.prompts[i], greedy(lab, ref.max_new[i]))
    while e.has_unfinished_requests():
        e.step()
    assert max(len(s) for s in e.step_log) == 2
    assert [rid for rid, _ in e.step_log[0]] == ["0", "1"]


def test_decodes_count_against_the_budget(lab, ref):
    """Budget 12: two decodes leave 10 tokens, so an 11-token prompt waits until they finish."""
    e = make(lab, ref, budget=12, max_num_seqs=8)
    e.add_request("A", list(range(10, 15)), greedy(lab, 3))
    e.add_request("C", list(range(20, 25)), greedy(lab, 3))
    e.add_request("B", list(range(30, 41)), greedy(lab, 1))
    while e.has_unfinished_requests():
        e.step()
    assert e.step_log == [[("A", 5), ("C", 5)], [("A", 1), ("C", 1)], [("A", 1), ("C", 1)], [("B", 11)]]
