"""Scheduling policies: FCFS and priority, as vLLM 0.33.0 defines them.

Reference solution. See README.md.
"""
from __future__ import annotations

import heapq
import statistics
from collections import deque
from itertools import count


class FCFSQueue:
    """Arrival order; a preempted request goes back to the front."""

    def __init__(self):
        self._q: deque = deque()

    def add(self, req) -> None:
        self._q.append(req)

    def prepend(self, req) -> None:
        self._q.appendleft(req)

    def peek(self):
        return self._q[0]

    def pop(self):
        return self._q.popleft()

    def __len__(self) -> int:
        return len(self._q)


class PriorityQueue:
    """Smallest (priority, arrival_time, request_id) first. There is no front to prepend to:
    a preempted request simply re-enters at its rank."""

    def __init__(self):
        self._heap: list = []
        self._tie = count()  # never compare two Request objects

    def add(self, req) -> None:
        heapq.heappush(self._heap, ((req.priority, req.arrival_time, req.request_id), next(self._tie), req))

    def prepend(self, req) -> None:
        self.add(req)

    def peek(self):
        return self._heap[0][2]

    def pop(self):
        return heapq.heappop(self._heap)[2]

    def __len__(self) -> int:
        return len(self._heap)


class FCFS:
    name = "fcfs"

    @staticmethod
    def make_queue() -> FCFSQueue:
        return FCFSQueue()

    @staticmethod
    def pick_victim(running: list):
        """The most recently admitted request: the end of the running list."""
        return running[-1]


class Priority:
    name = "priority"

    @staticmethod
    def make_queue() -> PriorityQueue:
        return PriorityQueue()

    @staticmethod
    def pick_victim(running: list):
        """The least important request; among equals the latest arrival."""
        return max(running, key=lambda r: (r.priority, r.arrival_time, r.request_id))


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def ttft_report(finished: list) -> dict[int, dict]:
    """Per priority class: count, median and p90 time to first token (seconds), preemptions."""
    classes: dict[int, list] = {}
    for req in finished:
        classes.setdefault(req.priority, []).append(req)
    return {
        prio: {
            "count": len(reqs),
            "ttft_p50": statistics.median(r.ttft for r in reqs),
            "ttft_p90": percentile([r.ttft for r in reqs], 90),
            "preemptions": sum(r.num_preemptions for r in reqs),
        }
        for prio, reqs in sorted(classes.items())
    }
