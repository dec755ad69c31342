"""Tests for sys-serve-and-measure.

Pure parts on hand-built data (arrivals, nearest-rank percentiles, vllm bench serve's metric
definitions); then the real thing: the server runs in a subprocess on a free port, the
learner's load generator drives it, and what the client measured is checked against the
server's own per-request log. Server and client stamp time.perf_counter(), which on Linux is
CLOCK_MONOTONIC, one clock for every process, so the checks are causal: a client cannot see a
token before the server sent it. Finally the same load runs against the planted server
(starter/server.py), and the learner's server must beat it by margins the step-time model
guarantees."""
import asyncio
import json
import math
import random
import select
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from tui.core.labs.testing import lab_directory, load_lab_module

PLANTED = Path(__file__).resolve().parents[1] / "starter" / "server.py"
RATE, SEED = 100.0, 3
_rng = random.Random(11)
WORKLOAD = [(_rng.randint(64, 192), _rng.randint(8, 16)) for _ in range(16)]  # (prompt_len, max_tokens)


@pytest.fixture
def lg(lab_dir):
    return load_lab_module(lab_dir, "loadgen.py")


# ------------------------------------------------------------------ arrivals and statistics


def test_poisson_arrivals_have_exponential_gaps_of_mean_one_over_rate(lg):
    for rate, n in [(20.0, 4000), (5.0, 3000)]:
        t = lg.poisson_arrivals(n, rate, 1)
        assert len(t) == n and t[0] >= 0 and all(a <= b for a, b in zip(t, t[1:])), "n sorted offsets >= 0"
        gaps = [b - a for a, b in zip([0.0] + t, t)]
        mean = statistics.fmean(gaps)
        assert mean == pytest.approx(1 / rate, rel=0.06), f"mean gap {mean:.4f} s at {rate} req/s"
        cv = statistics.pstdev(gaps) / mean
        assert 0.9 <= cv <= 1.1, f"gap std/mean = {cv:.2f}: a Poisson process has exponential gaps (std = mean)"
    assert lg.poisson_arrivals(50, 10.0, 7) == lg.poisson_arrivals(50, 10.0, 7), "a fixed seed fixes the schedule"
    assert lg.poisson_arrivals(50, 10.0, 7) != lg.poisson_arrivals(50, 10.0, 8)
    assert lg.poisson_arrivals(5, math.inf, 0) == [0.0] * 5, "rate inf sends everything at once"


def test_percentile_is_nearest_rank(lg):
    assert lg.percentile([4, 1, 3, 2], 50) == 2, "rank ceil(0.5 * 4) = 2: the 2nd smallest, no interpolation"
    assert lg.percentile([4, 1, 3, 2], 90) == 4
    assert lg.percentile([7.5], 99) == 7.5
    values = list(range(1, 201))
    random.Random(0).shuffle(values)
    assert [lg.percentile(values, p) for p in (1, 50, 90, 99, 100)] == [2, 100, 180, 198, 200]
    assert lg.percentile([5, 1, 3], 0) == 1
    with pytest.raises(ValueError):
        lg.percentile([], 50)


def R(lg, start, times, end, out, error=""):
    r = lg.RequestResult(prompt_len=10, max_tokens=out)
    r.start, r.token_times, r.end, r.output_tokens, r.error = start, list(times), end, out, error
    return r


def test_request_metrics_follow_vllm_bench_serve(lg):
    m = lg.request_metrics(R(lg, 100.0, [100.5, 100.6, 100.8, 101.1], 101.25, 4))
    assert m["ttft"] == pytest.approx(0.5)
    assert m["itls"] == pytest.approx([0.1, 0.2, 0.3])
    assert m["e2el"] == pytest.approx(1.1), "vllm bench serve's latency ends at the last token event, not at [DONE]"
    assert m["tpot"] == pytest.approx(0.2)
    # One event carried two tokens (3 events, 4 tokens): TPOT divides by tokens, ITL counts events.
    m = lg.request_metrics(R(lg, 0.0, [0.5, 0.7, 1.1], 1.2, 4))
    assert m["tpot"] == pytest.approx(0.2), "TPOT = (e2el - ttft) / (output_tokens - 1), not the mean ITL or e2el / n"
    assert m["itls"] == pytest.approx([0.2, 0.4])
    single = lg.request_metrics(R(lg, 0.0, [0.4], 0.45, 1))
    assert single["tpot"] is None and single["itls"] == [], "one token: no TPOT, no inter-token gaps"
    assert single["ttft"] == pytest.approx(0.4) and single["e2el"] == pytest.approx(0.4)


def test_summarize_on_hand_built_results(lg):
    results = [
        R(lg, 0.0, [0.2, 0.3, 0.5], 0.6, 3),
        R(lg, 1.0, [1.4], 1.45, 1),
        R(lg, 2.0, [2.1, 2.15, 2.2, 2.6], 2.7, 4),
        R(lg, 3.0, [], 0.0, 0, error="HTTP 500"),
        R(lg, 3.0, [3.3, 3.4], 3.6, 3),  # one event carried two tokens
    ]
    s = lg.summarize(lg.BenchmarkRun(results, started_at=0.0, duration_s=5.0))
    want = {
        "completed": 4, "failed": 1, "total_output": 11,
        "output_throughput": 2.2,  # tokens of completed requests / benchmark duration
        "request_throughput": 0.8,
        "mean_ttft_ms": 250.0, "p50_ttft_ms": 200.0, "p90_ttft_ms": 400.0, "p99_ttft_ms": 400.0,
        # TPOTs 150, 166.7 and 50 ms: the 1-token request has none
        "mean_tpot_ms": (150 + 500 / 3 + 50) / 3, "p50_tpot_ms": 150.0, "p90_tpot_ms": 500 / 3,
        "mean_itl_ms": 150.0, "p50_itl_ms": 100.0, "p90_itl_ms": 400.0,  # every gap of every request, pooled
        "mean_e2el_ms": 475.0, "p50_e2el_ms": 400.0, "p99_e2el_ms": 600.0,
    }
    for key, value in want.items():
        assert key in s, f"summary lacks {key}"
        assert s[key] == pytest.approx(value), f"{key} = {s[key]}, expected {value}"
    empty = lg.summarize(lg.BenchmarkRun([R(lg, 0.0, [0.1], 0.2, 1)], started_at=0.0, duration_s=1.0))
    assert empty["mean_tpot_ms"] == 0.0 and empty["p99_itl_ms"] == 0.0, "no values: 0.0, as vllm bench serve"


# ------------------------------------------------------------------ the live runs


class Server:
    """The server in a subprocess on a free port, logging every request to `log`."""

    def __init__(self, script: Path, log: Path):
        self.log = log
        self.proc = subprocess.Popen([sys.executable, str(script), "--port", "0", "--log", str(log)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("listening on"):
            self.stop()
            rest = self.proc.stdout.read() if self.proc.stdout else ""
            pytest.fail(f"{script} did not start (expected 'listening on HOST:PORT'):\n{line}{rest[-2000:]}",
                        pytrace=False)
        self.port = int(line.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def records(self) -> dict:
        lines = self.log.read_text().splitlines() if self.log.is_file() else []
        return {rec["id"]: rec for rec in map(json.loads, lines)}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """{"mine": (run, server log), "planted": (...)}: the same open-loop load against both servers."""
    lab = lab_directory()
    lg = load_lab_module(lab, "loadgen.py")
    out = {}
    for name, script in [("mine", lab / "server.py"), ("planted", PLANTED)]:
        server = Server(script, tmp_path_factory.mktemp(name) / "server.jsonl")
        try:
            run = asyncio.run(asyncio.wait_for(lg.run_benchmark("127.0.0.1", server.port, WORKLOAD, RATE, SEED), 60))
        except asyncio.TimeoutError:
            pytest.fail(f"the load generator did not finish against the {name} server in 60 s", pytrace=False)
        finally:
            server.stop()
        out[name] = (run, server.records())
    return out


SIDES = ["mine", "planted"]


def matched(live, side):
    """[(client result, server record)] in workload order; fails on requests the server never logged."""
    run, records = live[side]
    assert len(run.results) == len(WORKLOAD), f"{len(run.results)} results for {len(WORKLOAD)} requests"
    pairs = []
    for i, r in enumerate(run.results):
        assert r.ok, f"{side} server, request {i}: {r.error}"
        assert r.request_id in records, f"request {i}: id {r.request_id!r} is not in the server's log"
        pairs.append((r, records[r.request_id]))
    return pairs


@pytest.mark.parametrize("side", SIDES)
def test_every_request_streams_all_its_tokens(live, side):
    for i, (r, rec) in enumerate(matched(live, side)):
        prompt_len, max_tokens = WORKLOAD[i]
        assert (r.prompt_len, r.max_tokens) == (prompt_len, max_tokens), f"request {i} is not workload[{i}]"
        assert rec["prompt_tokens"] == prompt_len, f"request {i}: the prompt must have {prompt_len} words"
        assert r.output_tokens == rec["completion_tokens"] == max_tokens, \
            f"request {i}: output_tokens {r.output_tokens}, the server sent {rec['completion_tokens']}"
        assert len(r.token_times) == max_tokens, \
            f"request {i}: {len(r.token_times)} token events timed, {max_tokens} sent (the usage event carries none)"


@pytest.mark.parametrize("side", SIDES)
def test_client_times_are_causal_and_close_to_the_servers(live, side):
    lags = []
    for i, (r, rec) in enumerate(matched(live, side)):
        assert r.start <= rec["received"], (f"request {i}: start {r.start:.4f} is after the server received it "
                                           f"({rec['received']:.4f}); stamp time.perf_counter() before sending")
        for k, (mine, sent) in enumerate(zip(r.token_times, rec["token_times"])):
            assert mine >= sent, (f"request {i} token {k}: timed at {mine:.4f}, before the server sent it at "
                                  f"{sent:.4f} (stamped when the headers arrived? on another clock?)")
            lags.append(mine - sent)
        assert r.end >= rec["done"], f"request {i}: end {r.end:.4f} before the server sent [DONE] at {rec['done']:.4f}"
    # Relative, not a wall-clock budget: a client that stamps tokens as they arrive lags the
    # server by far less than a response takes; one that buffers lags by about a whole response.
    spans = [rec["token_times"][-1] - rec["token_times"][0] for _, rec in matched(live, side)]
    assert statistics.median(lags) <= 0.25 * statistics.median(spans), (
        f"median delay from server send to client timestamp {statistics.median(lags) * 1000:.0f} ms against "
        f"responses streaming for {statistics.median(spans) * 1000:.0f} ms: stamp each event as it arrives")


@pytest.mark.parametrize("side", SIDES)
def test_client_ttft_and_tpot_match_the_server_log(live, side, lg):
    errors = []
    for i, (r, rec) in enumerate(matched(live, side)):
        m = lg.request_metrics(r)
        server_ttft = rec["token_times"][0] - rec["received"]
        assert m["ttft"] >= server_ttft, f"request {i}: TTFT {m['ttft']:.4f} s below the server's own {server_ttft:.4f} s"
        server_tpot = (rec["token_times"][-1] - rec["token_times"][0]) / (rec["completion_tokens"] - 1)
        errors.append(abs(m["tpot"] - server_tpot) / server_tpot)
    assert statistics.median(errors) <= 0.25, (f"client TPOT differs from the server's by {statistics.median(errors):.0%} "
                                               "(median over requests): are tokens timed as they stream in?")


@pytest.mark.parametrize("side", SIDES)
def test_requests_are_sent_open_loop_on_the_poisson_schedule(live, side, lg):
    run, _ = live[side]
    schedule = lg.poisson_arrivals(len(WORKLOAD), RATE, SEED)
    late = [r.start - run.started_at - t for r, t in zip(run.results, schedule)]
    assert min(late) >= -0.005, f"a request was sent {-min(late) * 1000:.0f} ms before its arrival time"
    # Relative to how long requests take: a closed loop sends late by about a request's latency.
    e2e = statistics.median(r.end - r.start for r in run.results)
    assert statistics.median(late) <= 0.25 * e2e, (
        f"requests went out a median {statistics.median(late) * 1000:.0f} ms after their arrival times "
        f"(requests take {e2e * 1000:.0f} ms): an open loop does not wait for earlier requests")


@pytest.mark.parametrize("side", SIDES)
def test_summary_of_a_live_run(live, side, lg):
    run, _ = live[side]
    last_end = max(r.end for r in run.results)
    assert run.duration_s >= last_end - run.started_at - 1e-6, "the duration must cover every request"
    s = lg.summarize(run)
    total = sum(m for _, m in WORKLOAD)
    assert (s["completed"], s["failed"], s["total_output"]) == (len(WORKLOAD), 0, total)
    assert s["output_throughput"] == pytest.approx(total / run.duration_s)


def server_figures(records: dict) -> dict:
    recs = list(records.values())
    span = max(r["done"] for r in recs) - min(r["received"] for r in recs)
    events = sorted([(r["token_times"][0], 1) for r in recs] + [(r["done"], -1) for r in recs])
    streaming, most = 0, 0
    for _, step in events:
        streaming += step
        most = max(most, streaming)
    return {"throughput": sum(r["completion_tokens"] for r in recs) / span,
            "ttft_p50": statistics.median(r["token_times"][0] - r["received"] for r in recs),
            "concurrent": most}


def test_the_fixed_server_beats_the_planted_one(live):
    mine, planted = server_figures(live["mine"][1]), server_figures(live["planted"][1])
    print(f"server log figures, same load ({len(WORKLOAD)} requests at {RATE:g} req/s): "
          f"yours {mine}, planted {planted}")
    assert planted["concurrent"] == 1, "the planted server streams one request at a time (construction check)"
    assert mine["concurrent"] >= len(WORKLOAD) // 2, (f"at most {mine['concurrent']} requests streamed at once: "
                                                       "the engine batches every request; does the server (or a cap in your client) keep them apart?")
    # Serially, 16 requests of 8-16 tokens need >= 16 * 8 steps of >= 15 ms; batched, about 16 steps.
    assert mine["throughput"] >= 2 * planted["throughput"], "output tokens/s not even 2x the planted server's"
    assert mine["ttft_p50"] * 4 <= planted["ttft_p50"], "median TTFT not 4x better than the planted server's"


def test_the_server_streams_the_engines_tokens(live, lab_dir):
    engine = load_lab_module(lab_dir, "engine.py")
    for rec in live["mine"][1].values():
        assert rec["tokens"] == [engine.token_id(rec["prompt_tokens"], i) for i in range(rec["completion_tokens"])]
