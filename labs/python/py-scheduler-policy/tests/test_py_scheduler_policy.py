"""Tests for py-scheduler-policy: queue order, preemption victims, the TTFT report, and the
policies' measured effect on time to first token in the given simulator (sim.py)."""
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tui.core.labs.testing import examples, load_lab_module

SETTINGS = settings(max_examples=examples(80), derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture],
                    phases=[Phase.explicit, Phase.generate])


@pytest.fixture
def pol(lab_dir):
    return load_lab_module(lab_dir, "policy.py")


@pytest.fixture
def sim(lab_dir):
    return load_lab_module(lab_dir, "sim.py")


def R(sim, rid, prio=0, t=0.0, prompt=16, out=4):
    return sim.Request(rid, prompt, out, t, priority=prio)


def drain(q):
    return [q.pop().request_id for _ in range(len(q))]


def test_fcfs_queue_keeps_arrival_order_and_prepends_to_the_front(pol, sim):
    q = pol.FCFS.make_queue()
    for rid in "abc":
        q.add(R(sim, rid))
    assert q.peek().request_id == "a" and len(q) == 3
    q.prepend(R(sim, "preempted"))
    assert drain(q) == ["preempted", "a", "b", "c"]


def test_priority_queue_orders_by_priority_then_arrival_then_id(pol, sim):
    q = pol.Priority.make_queue()
    # Same priority and arrival time for x and y: the request id decides, and the queue must
    # never fall back to comparing two Request objects (they define no order).
    for rid, prio, t in [("late-urgent", 0, 5.0), ("y", 1, 1.0), ("x", 1, 1.0), ("early-bulk", 2, 0.0),
                         ("early-urgent", 0, 2.0)]:
        q.add(R(sim, rid, prio, t))
    assert q.peek().request_id == "early-urgent"
    assert drain(q) == ["early-urgent", "late-urgent", "x", "y", "early-bulk"]


def test_a_preempted_request_does_not_jump_a_priority_queue(pol, sim):
    q = pol.Priority.make_queue()
    q.add(R(sim, "urgent", 0, 9.0))
    q.prepend(R(sim, "bulk-preempted", 3, 0.0))
    assert drain(q) == ["urgent", "bulk-preempted"]


def test_fcfs_victim_is_the_last_admitted(pol, sim):
    running = [R(sim, "a", 5, 0.0), R(sim, "b", 0, 1.0), R(sim, "c", 9, 2.0)]
    assert pol.FCFS.pick_victim(running).request_id == "c"


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), min_size=1, max_size=12))
def test_priority_victim_is_least_important_then_latest(pol, sim, specs):
    running = [R(sim, f"r{i:02d}", prio, float(t)) for i, (prio, t) in enumerate(specs)]
    want = max(running, key=lambda r: (r.priority, r.arrival_time, r.request_id))
    assert pol.Priority.pick_victim(running) is want


def test_ttft_report_uses_nearest_rank_percentiles(pol, sim):
    finished = []
    for i in range(10):  # class 0: TTFTs 1..10 s
        r = R(sim, f"a{i}", 0, 0.0)
        r.first_token_time, r.num_preemptions = float(i + 1), i % 2
        finished.append(r)
    solo = R(sim, "solo", 7, 1.0)
    solo.first_token_time = 1.25
    finished.append(solo)
    rep = pol.ttft_report(finished)
    assert list(rep) == [0, 7]
    assert rep[0] == {"count": 10, "ttft_p50": 5.5, "ttft_p90": 9.0, "preemptions": 5}
    assert rep[7] == {"count": 1, "ttft_p50": 0.25, "ttft_p90": 0.25, "preemptions": 0}


def workload(sim):
    """Six long background prompts (priority 1) arrive first; six short interactive ones
    (priority 0) follow while the KV cache is nearly full."""
    bulk = [sim.Request(f"bulk{i}", 200, 40, 0.0, priority=1) for i in range(6)]
    chat = [sim.Request(f"chat{i}", 60, 8, 0.05 + 0.02 * i, priority=0) for i in range(6)]
    return bulk + chat


def run(sim, policy):
    return sim.run(policy, workload(sim), num_blocks=60, block_size=16, token_budget=256, max_num_seqs=8)


def test_priority_cuts_interactive_time_to_first_token(pol, sim):
    fcfs, prio = run(sim, pol.FCFS), run(sim, pol.Priority)
    for engine in (fcfs, prio):
        assert sorted(r.request_id for r in engine.finished) == sorted(r.request_id for r in workload(sim))
        assert all(r.output_len == r.max_tokens for r in engine.finished)
    a, b = pol.ttft_report(fcfs.finished), pol.ttft_report(prio.finished)
    print(f"{'class':<8}{'policy':<10}{'p50 ms':>8}{'p90 ms':>8}{'preempted':>11}")
    for cls in (0, 1):
        for name, rep in (("fcfs", a), ("priority", b)):
            r = rep[cls]
            print(f"{cls:<8}{name:<10}{r['ttft_p50'] * 1e3:>8.0f}{r['ttft_p90'] * 1e3:>8.0f}{r['preemptions']:>11}")
    assert b[0]["ttft_p90"] <= 0.25 * a[0]["ttft_p90"], "priority must serve the interactive class first"
    assert fcfs.preemptions == [], "with whole-prompt admission FCFS never needs to preempt here"
    assert prio.preemptions and all(rid.startswith("bulk") for rid in prio.preemptions), \
        f"only background requests may be preempted, got {prio.preemptions}"
    assert b[1]["ttft_p90"] >= a[1]["ttft_p90"], "the price is paid by the background class"
