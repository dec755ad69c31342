"""Scheduling policies: FCFS and priority, as vLLM 0.33.0 defines them.

Implement the parts marked TODO. README.md explains each one.
"""
from __future__ import annotations

import heapq
import statistics
from collections import deque
from itertools import count


class FCFSQueue:
    """Arrival order; a preempted request goes back to the front."""

    def __init__(self):
        # TODO
        raise NotImplementedError("FCFSQueue.__init__")

    def add(self, req) -> None:
        # TODO
        raise NotImplementedError("FCFSQueue.add")

    def prepend(self, req) -> None:
        # TODO
        raise NotImplementedError("FCFSQueue.prepend")

    def peek(self):
        # TODO
        raise NotImplementedError("FCFSQueue.peek")

    def pop(self):
        # TODO
        raise NotImplementedError("FCFSQueue.pop")

    def __len__(self) -> int:
        # TODO
        raise NotImplementedError("FCFSQueue.__len__")


class PriorityQueue:
    """Smallest (priority, arrival_time, request_id) first. There is no front to prepend to:
    a preempted request simply re-enters at its rank."""

    def __init__(self):
        # TODO
        raise NotImplementedError("PriorityQueue.__init__")

    def add(self, req) -> None:
        # TODO
        raise NotImplementedError("PriorityQueue.add")

    def prepend(self, req) -> None:
        # TODO
        raise NotImplementedError("PriorityQueue.prepend")

    def peek(self):
        # TODO
        raise NotImplementedError("PriorityQueue.peek")

    def pop(self):
        # TODO
        raise NotImplementedError("PriorityQueue.pop")

    def __len__(self) -> int:
        # TODO
        raise NotImplementedError("PriorityQueue.__len__")


class FCFS:
    name = "fcfs"

    @staticmethod
    def make_queue() -> FCFSQueue:
        return FCFSQueue()

    @staticmethod
    def pick_victim(running: list):
        """The most recently admitted request: the end of the running list."""
        # TODO
        raise NotImplementedError("FCFS.pick_victim")


class Priority:
    name = "priority"

    @staticmethod
    def make_queue() -> PriorityQueue:
        return PriorityQueue()

    @staticmethod
    def pick_victim(running: list):
        """The least important request; among equals the latest arrival."""
        # TODO
        raise NotImplementedError("Priority.pick_victim")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    # TODO
    raise NotImplementedError("percentile")


def ttft_report(finished: list) -> dict[int, dict]:
    """Per priority class: count, median and p90 time to first token (seconds), preemptions."""
    # TODO
    raise NotImplementedError("ttft_report")

