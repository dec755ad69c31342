"""Tests for sys-multiprocess-inference: the layer split (as vLLM's get_pp_indices), micro-batches,
backend choice, and real pipelines of 2 and 3 stage processes plus a front end over gloo whose
tokens and logits must equal the single-process model exactly, with every micro-batch in flight
and a communication account that matches what the processes really did.

torch is imported inside the tests: the launcher subprocess starts first and imports it in
parallel with this process (each import takes seconds on a busy machine)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tui.core.labs.testing import lab_directory, load_lab_module

LAUNCHER = Path(__file__).with_name("pp_launch.py")
PROMPTS = ["pipeline", "parallel", "stage 01", "tokens!!", "logits??", "the end."]  # 8 bytes each
CONFIGS = [
    {"pp": 2, "microbatches": 3, "steps": 4, "seed": 7, "prompts": PROMPTS},  # 7 layers -> 4 + 3
    {"pp": 3, "microbatches": 4, "steps": 4, "seed": 7, "prompts": PROMPTS},  # 7 layers -> 2 + 3 + 2; rows 2,2,1,1
]
PPS = [c["pp"] for c in CONFIGS]
LAYERS = {2: [(0, 4), (4, 7)], 3: [(0, 2), (2, 5), (5, 7)]}  # get_pp_indices for TinyLM's 7 layers
ROWS = {3: [(0, 2), (2, 4), (4, 6)], 4: [(0, 2), (2, 4), (4, 5), (5, 6)]}  # 6 prompts


@pytest.fixture(scope="module", autouse=True)
def launch(tmp_path_factory):
    """Start every pipeline process before anything else runs (they work while the other tests do)."""
    out = tmp_path_factory.mktemp("pp")
    proc = subprocess.Popen([sys.executable, str(LAUNCHER), str(lab_directory()), str(out), json.dumps(CONFIGS)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield proc, out
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


@pytest.fixture(scope="module")
def runs(launch):
    """{pp: [rank 0 results, rank 1 results, ...]}"""
    import torch

    proc, out = launch
    try:
        log = proc.communicate(timeout=150)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the pipeline processes did not finish in 150 s", pytrace=False)
    got = {}
    for cfg in CONFIGS:
        ranks = []
        for rank in range(cfg["pp"] + 1):
            path = out / f"pp{cfg['pp']}_rank{rank}.pt"
            if not path.is_file():
                pytest.fail(f"pp={cfg['pp']} rank {rank} died before reporting (a deadlock? a crash?):\n{log[-3000:]}",
                            pytrace=False)
            ranks.append(torch.load(path, weights_only=False))
        got[cfg["pp"]] = ranks
    return got


def rank_result(runs, pp, rank, key):
    r = runs[pp][rank]
    if "error" in r:
        who = "front end" if rank == 0 else f"stage {rank - 1}"
        pytest.fail(f"pp={pp}, {who} (rank {rank}) raised: {r['error']}", pytrace=False)
    return r[key]


@pytest.fixture
def pl(lab_dir):
    return load_lab_module(lab_dir, "pipeline.py")


# ------------------------------------------------------------------ pure functions


def test_split_layers_gives_the_remainder_to_the_stages_before_the_last(pl):
    sizes = lambda n, p: [e - s for s, e in pl.split_layers(n, p)]
    assert sizes(8, 2) == [4, 4]
    assert sizes(7, 2) == [4, 3]
    assert sizes(7, 3) == [2, 3, 2], "one extra layer goes to the second-to-last stage, not the first or last"
    assert sizes(8, 3) == [3, 3, 2]
    assert sizes(10, 4) == [2, 3, 3, 2], "remainder 2 of 4 stages: the middle stages, first and last stay even"
    assert sizes(11, 4) == [3, 3, 3, 2]
    assert sizes(32, 5) == [6, 6, 7, 7, 6]
    assert sizes(5, 5) == [1, 1, 1, 1, 1]


def test_split_layers_is_contiguous_and_covers_every_layer(pl):
    for n in range(1, 40):
        for p in range(1, min(n, 9) + 1):
            bounds = pl.split_layers(n, p)
            assert len(bounds) == p and bounds[0][0] == 0 and bounds[-1][1] == n, (n, p, bounds)
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:])), (n, p, bounds)
            sizes = [e - s for s, e in bounds]
            assert max(sizes) - min(sizes) <= 1 and sizes[-1] == n // p, (n, p, sizes)


def test_split_microbatches(pl):
    assert pl.split_microbatches(6, 3) == [(0, 2), (2, 4), (4, 6)]
    assert pl.split_microbatches(6, 4) == [(0, 2), (2, 4), (4, 5), (5, 6)]
    assert pl.split_microbatches(7, 1) == [(0, 7)]
    assert pl.split_microbatches(3, 3) == [(0, 1), (1, 2), (2, 3)]
    with pytest.raises(ValueError):
        pl.split_microbatches(2, 3)  # an empty micro-batch would still cost a trip through every stage


def test_backend_is_nccl_only_with_a_gpu_per_process(pl, monkeypatch):
    import torch

    for gpus, world, want in [(0, 3, "gloo"), (2, 3, "gloo"), (3, 3, "nccl"), (8, 4, "nccl"), (1, 2, "gloo")]:
        monkeypatch.setattr(torch.cuda, "is_available", lambda g=gpus: g > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda g=gpus: g)
        assert pl.choose_backend(world) == want, f"{gpus} GPUs, {world} processes"
    assert pl.device_for(2, "nccl") == torch.device("cuda", 2)
    assert pl.device_for(2, "gloo") == torch.device("cpu")


def test_comm_share_is_the_communication_fraction(pl):
    s = pl.StageStats(stage=0, layers=(0, 2), microbatches=3, recv_s=0.3, send_s=0.1, compute_s=0.6)
    assert s.comm_share() == pytest.approx(0.4)
    assert pl.StageStats(stage=1, layers=(2, 4)).comm_share() == 0.0


# ------------------------------------------------------------------ real processes


@pytest.mark.parametrize("pp", PPS)
def test_tokens_and_logits_equal_the_single_process_model_exactly(runs, pp):
    for rank in range(1, pp + 1):
        rank_result(runs, pp, rank, "stats")
    tokens, logits = rank_result(runs, pp, 0, "tokens"), rank_result(runs, pp, 0, "logits")
    ref_tokens, ref_logits = runs[pp][0]["ref_tokens"], runs[pp][0]["ref_logits"]
    assert tuple(logits.shape) == tuple(ref_logits.shape), \
        f"logits shape {tuple(logits.shape)}, expected [steps, batch, vocab] = {tuple(ref_logits.shape)}"
    assert logits.dtype == ref_logits.dtype
    assert torch_equal(logits, ref_logits), \
        f"logits differ from the single-process model by up to {(logits - ref_logits).abs().max().item():.3g}"
    assert torch_equal(tokens, ref_tokens), f"generated {tokens.tolist()}, expected {ref_tokens.tolist()}"


def torch_equal(a, b) -> bool:
    import torch

    return torch.equal(a, b)


@pytest.mark.parametrize("pp", PPS)
def test_each_stage_runs_exactly_its_layers(runs, pp):
    cfg = next(c for c in CONFIGS if c["pp"] == pp)
    bounds = LAYERS[pp]
    chunks = ROWS[cfg["microbatches"]]
    assert runs[pp][0]["calls"] == [], "the front end only tokenizes, sends and picks tokens: no model calls"
    for stage in range(pp):
        calls = rank_result(runs, pp, stage + 1, "calls")
        start, end = bounds[stage]
        want = []
        for _ in range(cfg["steps"]):
            for a, b in chunks:
                rows = b - a
                want += [("embed", -1, rows)] if stage == 0 else []
                want += [("layer", i, rows) for i in range(start, end)]
                want += [("logits", -1, rows)] if stage == pp - 1 else []
        assert calls == want, (f"pp={pp} stage {stage} should run layers {start}..{end - 1} on each micro-batch "
                               f"(embedding on the first stage, logits on the last); it made {len(calls)} calls, "
                               f"first ones {calls[:6]}")


@pytest.mark.parametrize("pp", PPS)
def test_every_micro_batch_stays_in_flight(runs, pp):
    cfg = next(c for c in CONFIGS if c["pp"] == pp)
    m, steps = cfg["microbatches"], cfg["steps"]
    log = rank_result(runs, pp, 0, "log")
    ops = [op for op, _ in log if op in ("send", "recv")]
    assert ops.count("send") == ops.count("recv") == m * steps, f"front end: {ops.count('send')} sends and " \
        f"{ops.count('recv')} receives for {steps} steps of {m} micro-batches"
    in_flight, most = 0, 0
    for op in ops:
        in_flight += 1 if op == "send" else -1
        most = max(most, in_flight)
    assert most == m, (f"at most {most} micro-batch(es) in flight, expected all {m}: send every micro-batch of a "
                       "step before receiving the first logits, or the stages idle while one micro-batch travels")
    want = ["send"] * m + ["recv", "send"] * (m * (steps - 1)) + ["recv"] * m
    assert ops == want, ("once the pipeline is full, each micro-batch whose logits come back must be sent in again "
                         "(with its new token) before the next result is awaited, as vLLM's batch queue keeps "
                         f"pp_size batches cycling; the front end's order was {''.join(o[0].upper() for o in ops)}")
    assert log[-1] == ("stop", 1), "the front end ends the run by sending stop to the first stage"


@pytest.mark.parametrize("pp", PPS)
def test_communication_accounting_is_sane_and_matches_what_happened(runs, pp):
    cfg = next(c for c in CONFIGS if c["pp"] == pp)
    for stage in range(pp):
        s = rank_result(runs, pp, stage + 1, "stats")
        truth, wall = runs[pp][stage + 1]["truth"], runs[pp][stage + 1]["wall_s"]
        where = f"pp={pp} stage {stage}"
        assert s["microbatches"] == cfg["steps"] * cfg["microbatches"], \
            f"{where}: {s['microbatches']} micro-batches counted, {cfg['steps'] * cfg['microbatches']} processed"
        assert 0.0 <= s["comm_share"] <= 1.0, f"{where}: communication share {s['comm_share']} outside [0, 1]"
        comm, compute = s["recv_s"] + s["send_s"], s["compute_s"]
        assert s["comm_share"] == pytest.approx(comm / (comm + compute), rel=1e-9), \
            f"{where}: share {s['comm_share']} is not (recv + send) / (recv + send + compute)"
        assert comm + compute <= wall * 1.001 + 1e-3, f"{where}: {comm + compute:.3f} s accounted in {wall:.3f} s"
        # The learner's timers enclose the instrumented calls, so each figure is at least the true time and
        # exceeds it by little more than timer overhead (slack: 5 ms + 10 % of the stage's wall time).
        slack = 0.005 + 0.1 * wall
        for key, mine in [("recv_s", s["recv_s"]), ("send_s", s["send_s"]), ("compute_s", compute)]:
            assert truth[key] - 1e-4 <= mine <= truth[key] + slack, \
                f"{where}: {key} = {mine:.4f} s, but the process spent {truth[key]:.4f} s there"
