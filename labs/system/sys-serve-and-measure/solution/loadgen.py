"""An open-loop load generator for an OpenAI-style streaming completions server,
measuring what `vllm bench serve` measures.

Reference solution. See README.md.

    python loadgen.py --port PORT --num-prompts 64 --request-rate 20 --seed 0
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import time
from dataclasses import dataclass, field

# ------------------------------------------------------------------ records (given)


@dataclass
class RequestResult:
    """One request as the client saw it. Every time is a time.perf_counter() reading."""

    prompt_len: int
    max_tokens: int
    request_id: str = ""  # the "id" of the server's events
    start: float = 0.0  # just before the request was written to the socket
    token_times: list[float] = field(default_factory=list)  # when each event carrying a token arrived
    end: float = 0.0  # when data: [DONE] arrived
    output_tokens: int = 0  # completion_tokens from the usage event
    error: str = ""  # empty when the request succeeded

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class BenchmarkRun:
    results: list[RequestResult]  # in the order of the workload
    started_at: float  # perf_counter when the run began; arrival offsets count from here
    duration_s: float  # from started_at until the last request finished


def random_workload(n: int, seed: int, input_len: int = 128, output_len: int = 12,
                    range_ratio: float = 0.5) -> list[tuple[int, int]]:
    """(prompt_len, max_tokens) pairs drawn uniformly within +-range_ratio of the given lengths,
    like `vllm bench serve --dataset-name random --random-range-ratio`."""
    rng = random.Random(seed)

    def draw(mean: int) -> int:
        return rng.randint(max(1, round(mean * (1 - range_ratio))), max(1, round(mean * (1 + range_ratio))))

    return [(draw(input_len), draw(output_len)) for _ in range(n)]


# ------------------------------------------------------------------ arrivals and statistics


def poisson_arrivals(n: int, rate: float, seed: int) -> list[float]:
    """Send times (seconds from the start) of n requests arriving as a Poisson process of `rate`
    requests/s: cumulative sums of exponential gaps of mean 1/rate, the first gap included.
    rate = inf sends everything at once. Same seed, same schedule."""
    if rate == math.inf:
        return [0.0] * n
    rng = random.Random(seed)
    t, out = 0.0, []
    for _ in range(n):
        t += rng.expovariate(rate)
        out.append(t)
    return out


def percentile(values, p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p % of the values at or below it."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def request_metrics(r: RequestResult) -> dict:
    """ttft, itls, tpot and e2el (seconds) of one successful request, as vllm bench serve defines
    them: e2el ends at the last token event; tpot = (e2el - ttft) / (output_tokens - 1), None for
    a single-token output."""
    ttft = r.token_times[0] - r.start
    e2el = r.token_times[-1] - r.start
    itls = [b - a for a, b in zip(r.token_times, r.token_times[1:])]
    tpot = (e2el - ttft) / (r.output_tokens - 1) if r.output_tokens > 1 else None
    return {"ttft": ttft, "itls": itls, "tpot": tpot, "e2el": e2el}


def summarize(run: BenchmarkRun, percentiles=(50, 90, 99)) -> dict:
    """The benchmark's figures: counts, throughputs over the run's duration, and the mean and
    percentiles (ms) of TTFT, TPOT, ITL (every gap of every request pooled) and E2EL. Failed
    requests count only in `failed`. A metric with no values reports 0.0."""
    done = [r for r in run.results if r.ok]
    per = [request_metrics(r) for r in done]
    samples = {
        "ttft": [m["ttft"] for m in per],
        "tpot": [m["tpot"] for m in per if m["tpot"] is not None],
        "itl": [gap for m in per for gap in m["itls"]],
        "e2el": [m["e2el"] for m in per],
    }
    total_output = sum(r.output_tokens for r in done)
    out = {
        "completed": len(done),
        "failed": len(run.results) - len(done),
        "total_output": total_output,
        "duration_s": run.duration_s,
        "request_throughput": len(done) / run.duration_s,
        "output_throughput": total_output / run.duration_s,
    }
    for name, values in samples.items():
        out[f"mean_{name}_ms"] = statistics.fmean(values) * 1000 if values else 0.0
        for p in percentiles:
            out[f"p{p:g}_{name}_ms"] = percentile(values, p) * 1000 if values else 0.0
    return out


# ------------------------------------------------------------------ the client


async def stream_completion(host: str, port: int, prompt_len: int, max_tokens: int) -> RequestResult:
    """One streaming request: POST /v1/completions and time every token event as it arrives."""
    r = RequestResult(prompt_len, max_tokens)
    body = json.dumps({"model": "sim", "prompt": " ".join(["hi"] * prompt_len), "max_tokens": max_tokens,
                       "stream": True, "stream_options": {"include_usage": True}}).encode()
    head = (f"POST /v1/completions HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    writer = None
    try:
        reader, writer = await asyncio.open_connection(host, port)
        r.start = time.perf_counter()
        writer.write(head + body)
        await writer.drain()
        status = (await reader.readline()).decode("latin-1").split()
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass  # headers
        if len(status) < 2 or status[1] != "200":
            r.error = f"HTTP {' '.join(status[1:]) or 'no status'}: {(await reader.read()).decode(errors='replace')}"
            return r
        while line := await reader.readline():
            now = time.perf_counter()
            text = line.decode().strip()
            if not text.startswith("data:"):
                continue  # blank separators and ": comments"
            data = text[len("data:"):].strip()
            if data == "[DONE]":
                r.end = now
                break
            event = json.loads(data)
            r.request_id = event.get("id", r.request_id)
            if event.get("choices"):
                r.token_times.append(now)
            elif usage := event.get("usage"):
                r.output_tokens = usage["completion_tokens"]
        if not r.end:
            r.error = "the stream ended without [DONE]"
        elif not r.token_times:
            r.error = "no tokens"
    except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
        r.error = f"{type(exc).__name__}: {exc}"
    finally:
        if writer is not None:
            writer.close()
    return r


async def run_benchmark(host: str, port: int, workload: list[tuple[int, int]], rate: float,
                        seed: int) -> BenchmarkRun:
    """Open loop: request i is sent at started_at + poisson_arrivals(...)[i] whether or not
    earlier requests have finished; wait for all, return them in workload order."""
    offsets = poisson_arrivals(len(workload), rate, seed)
    started_at = time.perf_counter()

    async def one(offset: float, prompt_len: int, max_tokens: int) -> RequestResult:
        delay = started_at + offset - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        return await stream_completion(host, port, prompt_len, max_tokens)

    results = await asyncio.gather(*(one(o, p, m) for o, (p, m) in zip(offsets, workload)))
    return BenchmarkRun(list(results), started_at, time.perf_counter() - started_at)


# ------------------------------------------------------------------ command line (given)


def format_report(summary: dict) -> str:
    lines = [f"{'Successful requests:':<36}{summary['completed']}", f"{'Failed requests:':<36}{summary['failed']}",
             f"{'Benchmark duration (s):':<36}{summary['duration_s']:.2f}",
             f"{'Request throughput (req/s):':<36}{summary['request_throughput']:.2f}",
             f"{'Output token throughput (tok/s):':<36}{summary['output_throughput']:.2f}"]
    for name, label in [("ttft", "TTFT"), ("tpot", "TPOT"), ("itl", "ITL"), ("e2el", "E2EL")]:
        for key in sorted(k for k in summary if k.endswith(f"_{name}_ms")):
            stat = key.split("_")[0]
            lines.append(f"{(stat.capitalize() if stat == 'mean' else stat.upper()) + ' ' + label + ' (ms):':<36}"
                         f"{summary[key]:.2f}")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="open-loop load generator (vllm bench serve, in small)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--num-prompts", type=int, default=64)
    p.add_argument("--request-rate", type=float, default=math.inf, help="requests/s (Poisson); inf = all at once")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--input-len", type=int, default=128)
    p.add_argument("--output-len", type=int, default=12)
    args = p.parse_args(argv)
    workload = random_workload(args.num_prompts, args.seed, args.input_len, args.output_len)
    run = asyncio.run(run_benchmark(args.host, args.port, workload, args.request_rate, args.seed))
    print(format_report(summarize(run)))


if __name__ == "__main__":
    main()
