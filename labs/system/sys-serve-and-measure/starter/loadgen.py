"""An open-loop load generator for an OpenAI-style streaming completions server,
measuring what `vllm bench serve` measures.

Implement the parts marked TODO, then find the bottleneck in server.py.
README.md explains each one.

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
    # TODO
    raise NotImplementedError("poisson_arrivals")


def percentile(values, p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p % of the values at or below it."""
    # TODO
    raise NotImplementedError("percentile")


def request_metrics(r: RequestResult) -> dict:
    """ttft, itls, tpot and e2el (seconds) of one successful request, as vllm bench serve defines
    them: e2el ends at the last token event; tpot = (e2el - ttft) / (output_tokens - 1), None for
    a single-token output."""
    # TODO
    raise NotImplementedError("request_metrics")


def summarize(run: BenchmarkRun, percentiles=(50, 90, 99)) -> dict:
    """The benchmark's figures: counts, throughputs over the run's duration, and the mean and
    percentiles (ms) of TTFT, TPOT, ITL (every gap of every request pooled) and E2EL. Failed
    requests count only in `failed`. A metric with no values reports 0.0."""
    # TODO
    raise NotImplementedError("summarize")


# ------------------------------------------------------------------ the client


async def stream_completion(host: str, port: int, prompt_len: int, max_tokens: int) -> RequestResult:
    """One streaming request: POST /v1/completions and time every token event as it arrives."""
    # TODO
    raise NotImplementedError("stream_completion")


async def run_benchmark(host: str, port: int, workload: list[tuple[int, int]], rate: float,
                        seed: int) -> BenchmarkRun:
    """Open loop: request i is sent at started_at + poisson_arrivals(...)[i] whether or not
    earlier requests have finished; wait for all, return them in workload order."""
    # TODO
    raise NotImplementedError("run_benchmark")


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
