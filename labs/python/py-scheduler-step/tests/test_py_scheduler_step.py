"""Tests for py-scheduler-step: budget, order, chunking, preemption."""
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tui.core.labs.testing import examples, load_lab_module

SETTINGS = settings(
    max_examples=examples(60),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.generate],  # no shrinking: fail fast inside the time limit
)


@pytest.fixture
def sm(lab_dir):
    return load_lab_module(lab_dir, "scheduler.py")


def make(sm, num_blocks=64, block_size=4, budget=16, max_seqs=8):
    return sm.Scheduler(sm.BlockAllocator(num_blocks, block_size), budget, max_seqs)


def req(sm, rid, prompt, max_tokens=100):
    return sm.Request(rid, num_prompt_tokens=prompt, max_tokens=max_tokens)


def step(s):
    out = s.schedule()
    s.update_from_output(out)
    return out


def test_single_prompt_then_decodes(sm):
    s = make(sm, budget=16)
    s.add_request(req(sm, "a", 10, max_tokens=3))
    out = step(s)
    assert out.num_scheduled_tokens == {"a": 10} and out.preempted_req_ids == []
    assert out.total_num_scheduled_tokens == 10
    assert [step(s).num_scheduled_tokens for _ in range(2)] == [{"a": 1}, {"a": 1}]
    assert s.finished == ["a"] and s.running == [] and s.allocator.num_free_blocks == 64


def test_chunked_prefill_splits_a_long_prompt(sm):
    s = make(sm, budget=32)
    s.add_request(req(sm, "long", 100))
    chunks = [step(s).num_scheduled_tokens["long"] for _ in range(5)]
    assert chunks == [32, 32, 32, 4, 1]  # three full chunks, the rest, then decode
    r = s.running[0]
    assert r.num_computed_tokens == 101 and r.num_tokens == 102


def test_chunk_takes_only_the_remaining_budget(sm):
    s = make(sm, budget=16)
    s.add_request(req(sm, "a", 10))
    s.add_request(req(sm, "b", 50))
    out = s.schedule()
    assert out.num_scheduled_tokens == {"a": 10, "b": 6}
    assert s.running[1].num_computed_tokens == 6
    assert len(s.running[1].block_ids) == 2  # ceil(6 / 4): blocks only for what is computed


def test_running_before_waiting(sm):
    s = make(sm, budget=4)
    for rid in "abc":
        s.add_request(req(sm, rid, 1))
    step(s)  # a, b, c prefill (1 token each) and sample their first token
    s.add_request(req(sm, "w", 20))
    out = s.schedule()
    # Three decodes first, in running order, then the waiting prompt gets what is left.
    assert list(out.num_scheduled_tokens) == ["a", "b", "c", "w"]
    assert out.num_scheduled_tokens == {"a": 1, "b": 1, "c": 1, "w": 1}


def test_unfinished_prefill_continues_before_new_waiting(sm):
    s = make(sm, budget=8)
    s.add_request(req(sm, "a", 20))
    s.add_request(req(sm, "b", 4))
    assert step(s).num_scheduled_tokens == {"a": 8}
    assert step(s).num_scheduled_tokens == {"a": 8}
    assert step(s).num_scheduled_tokens == {"a": 4, "b": 4}


def test_max_num_seqs_caps_admission(sm):
    s = make(sm, budget=100, max_seqs=2)
    for rid in "abc":
        s.add_request(req(sm, rid, 3))
    out = s.schedule()
    assert list(out.num_scheduled_tokens) == ["a", "b"]
    assert [r.request_id for r in s.waiting] == ["c"]


def test_budget_exhausted_exactly(sm):
    s = make(sm, budget=10)
    s.add_request(req(sm, "a", 10))
    s.add_request(req(sm, "b", 5))
    out = s.schedule()
    assert out.num_scheduled_tokens == {"a": 10}  # no zero-token entry for b
    assert [r.request_id for r in s.waiting] == ["b"]


def test_waiting_head_blocks_the_line(sm):
    s = make(sm, num_blocks=4, block_size=4, budget=64)
    s.add_request(req(sm, "big", 20))  # asks for 20 tokens = 5 blocks > 4: cannot start
    s.add_request(req(sm, "small", 2))  # would fit, but FCFS: nobody overtakes the head
    out = s.schedule()
    assert out.num_scheduled_tokens == {} and out.preempted_req_ids == []
    assert [r.request_id for r in s.waiting] == ["big", "small"]
    assert s.allocator.num_free_blocks == 4  # the failed allocation took nothing


def crowded(sm, max_tokens=100):
    """5 blocks of 4 tokens, all in use after two steps: a and b hold 2 blocks each
    (8 tokens), c holds 1 (4 tokens); 'late' waits for a block."""
    s = make(sm, num_blocks=5, block_size=4, budget=64)
    s.add_request(req(sm, "a", 7, max_tokens))
    s.add_request(req(sm, "b", 7, max_tokens))
    s.add_request(req(sm, "c", 3, max_tokens))
    s.add_request(req(sm, "late", 2))
    out = step(s)
    assert out.num_scheduled_tokens == {"a": 7, "b": 7, "c": 3}  # late: no block left
    out = step(s)
    assert out.num_scheduled_tokens == {"a": 1, "b": 1, "c": 1}
    assert s.allocator.num_free_blocks == 0
    return s


def test_preemption_takes_the_tail_and_requeues_at_front(sm):
    s = crowded(sm)
    # a's next token needs a third block: the tail, c, is preempted and a takes its block.
    # b needs one too and nothing is free: the tail is now b itself.
    out = s.schedule()
    assert out.preempted_req_ids == ["c", "b"]
    assert out.num_scheduled_tokens == {"a": 1}
    assert [r.request_id for r in s.running] == ["a"]
    assert [r.request_id for r in s.waiting] == ["b", "c", "late"]  # preempted go first, in order
    for r in list(s.waiting)[:2]:
        assert r.num_computed_tokens == 0 and r.block_ids == [] and r.num_preemptions == 1
    assert "late" not in out.num_scheduled_tokens  # no admissions in a step that preempted


def test_preempted_request_comes_back_first_and_recomputes_outputs(sm):
    s = crowded(sm, max_tokens=3)
    out = step(s)
    assert out.preempted_req_ids == ["c", "b"]
    assert s.finished == ["a"]  # a sampled its third token and freed its 3 blocks
    b = s.waiting[0]
    assert b.request_id == "b" and b.num_tokens == 9  # 7 prompt + 2 outputs
    out = s.schedule()
    # b returns first and recomputes prompt + outputs as a prefill, then c; late still waits.
    assert out.num_scheduled_tokens == {"b": 9, "c": 5}
    assert [r.request_id for r in s.waiting] == ["late"]


def test_no_admission_in_a_step_that_preempted(sm):
    # c is mid-prefill when a's decode takes the last free block; c then preempts itself.
    # Its freed blocks would fit a fresh 8-token chunk of c, but vLLM admits nobody from
    # waiting in a step that preempted (it would only thrash).
    s = make(sm, num_blocks=4, block_size=4, budget=9)
    s.add_request(req(sm, "a", 4))
    s.add_request(req(sm, "c", 30))
    assert step(s).num_scheduled_tokens == {"a": 4, "c": 5}
    out = s.schedule()
    assert out.preempted_req_ids == ["c"]
    assert out.num_scheduled_tokens == {"a": 1}
    assert [r.request_id for r in s.waiting] == ["c"] and s.allocator.num_free_blocks == 2


def test_request_that_preempts_itself(sm):
    s = make(sm, num_blocks=2, block_size=4, budget=64)
    s.add_request(req(sm, "a", 8))
    step(s)  # 8 tokens: both blocks
    out = s.schedule()  # token 9 needs a third block; a is the only running request
    assert out.preempted_req_ids == ["a"] and out.num_scheduled_tokens == {}
    assert s.running == [] and s.waiting[0].request_id == "a"
    assert s.allocator.num_free_blocks == 2


def test_invalid_limits(sm):
    with pytest.raises(ValueError):
        make(sm, budget=0)
    with pytest.raises(ValueError):
        make(sm, max_seqs=0)


@SETTINGS
@given(
    prompts=st.lists(st.integers(1, 40), min_size=1, max_size=10),
    outputs=st.lists(st.integers(1, 6), min_size=10, max_size=10),
    num_blocks=st.integers(12, 40),  # the longest request (46 tokens) must fit alone
    budget=st.integers(1, 48),
    max_seqs=st.integers(1, 6),
)
def test_random_workloads_keep_invariants(sm, prompts, outputs, num_blocks, budget, max_seqs):
    bs = 4
    s = make(sm, num_blocks=num_blocks, block_size=bs, budget=budget, max_seqs=max_seqs)
    reqs = [req(sm, f"r{i}", p, outputs[i]) for i, p in enumerate(prompts)]
    for r in reqs:
        s.add_request(r)
    for _ in range(400):
        if len(s.finished) == len(reqs):
            break
        running_before = [r.request_id for r in s.running]
        computed_before = {r.request_id: r.num_computed_tokens for r in reqs}
        waiting_before = [r.request_id for r in s.waiting]
        out = s.schedule()
        counts = out.num_scheduled_tokens
        assert out.total_num_scheduled_tokens <= budget
        assert all(n > 0 for n in counts.values())
        assert len(s.running) <= max_seqs
        # Running requests (minus the preempted) come first, in their order.
        from_running = [rid for rid in running_before if rid in counts]
        assert list(counts)[: len(from_running)] == from_running
        # Preempted: from the tail of running, now at the front of waiting, state reset.
        assert out.preempted_req_ids == list(reversed(running_before))[: len(out.preempted_req_ids)]
        if out.preempted_req_ids:
            assert not set(counts) & set(waiting_before)
            front = [r.request_id for r in list(s.waiting)[: len(out.preempted_req_ids)]]
            assert front == list(reversed(out.preempted_req_ids))
        for r in reqs:
            if r.request_id in counts:
                assert r.num_computed_tokens == (0 if r.request_id in out.preempted_req_ids else computed_before[r.request_id]) + counts[r.request_id]
                assert r.num_computed_tokens <= r.num_tokens
            if r in s.running:
                assert len(r.block_ids) == -(-r.num_computed_tokens // bs)
        held = sum(len(r.block_ids) for r in reqs)
        assert held + s.allocator.num_free_blocks == num_blocks
        s.update_from_output(out)
    assert sorted(s.finished) == sorted(r.request_id for r in reqs)  # no starvation, no deadlock
