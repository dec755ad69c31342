"""Stage 6: preemption by recompute when the KV cache runs out."""
import pytest
from conftest import assert_matches_transformers, greedy, model_for, run_engine


@pytest.mark.parametrize("caching", [False, True])
def test_tiny_pool_preempts_and_output_is_unchanged(lab, ref, caching):
    """40 blocks of 8 tokens for 24 prompts: requests are preempted, recomputed, and still match."""
    engine, done = run_engine(lab, ref, num_blocks=40, max_num_seqs=8, max_num_batched_tokens=64,
                              enable_chunked_prefill=True, enable_prefix_caching=caching)
    assert engine.scheduler.num_preemptions > 0, "the pool was meant to be too small: nothing was preempted"
    assert_matches_transformers(ref, done)
    assert engine.kv.pool.num_free_blocks == 39


def make(lab, ref, num_blocks):
    return lab.engine.LLMEngine(model_for(lab, ref), lab.engine.EngineConfig(
        block_size=4, num_blocks=num_blocks, max_num_batched_tokens=64, max_num_seqs=8, device="cpu",
        enable_chunked_prefill=True, enable_prefix_caching=False))


def test_victim_is_the_last_admitted_and_resumes_first(lab, ref):
    """6 usable blocks of 4: A, B, C with 7-token prompts take 2 each. At A's 9th token A needs a
    third block: C, the last running request, is preempted and goes to the front of the queue."""
    e = make(lab, ref, num_blocks=7)
    for rid, start in (("A", 10), ("B", 30), ("C", 50)):
        e.add_request(rid, list(range(start, start + 7)), greedy(lab, 6))
    e.add_request("D", list(range(70, 73)), greedy(lab, 2))  # waits behind C
    e.step()
    assert e.step_log[0] == [("A", 7), ("B", 7), ("C", 7)]
    e.step()  # A, B, C decode their 8th token: no new block needed
    generated = list(e.requests["C"].output_token_ids)
    e.step()  # A's 9th token needs a block: C goes
    assert e.scheduler.preempted_log == ["C"]
    assert [r.request_id for r in e.scheduler.waiting] == ["C", "D"], "the victim resumes first"
    assert e.requests["C"].num_computed_tokens == 0
    assert e.step_log[2] == [("A", 1), ("B", 1)], "no admission in a step that had to preempt"
    while e.has_unfinished_requests():
        e.step()
    resumed = next(s for s in e.step_log[3:] if any(r == "C" for r, _ in s))
    assert ("C", 7 + len(generated)) in resumed, "the recompute prefills the prompt and the tokens already generated"


def test_preempted_outputs_equal_an_unconstrained_run(lab, ref):
    runs = []
    for num_blocks in (7, 200):
        e = make(lab, ref, num_blocks)
        for i, start in enumerate((10, 30, 50, 70)):
            e.add_request(str(i), list(range(start, start + 7)), greedy(lab, 9))
        outs = {}
        while e.has_unfinished_requests():
            for o in e.step():
                outs.setdefault(o.request_id, []).extend(o.new_token_ids)
        runs.append((outs, e.scheduler.num_preemptions))
    assert runs[0][1] > 0 and runs[1][1] == 0
    assert runs[0][0] == runs[1][0]
