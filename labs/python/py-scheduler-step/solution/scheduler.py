"""One step of a V1-style continuous-batching scheduler. Reference solution; see README.md."""
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Request:
    request_id: str
    num_prompt_tokens: int
    max_tokens: int  # output tokens to generate before finishing
    num_tokens: int = 0  # prompt + output tokens so far
    num_computed_tokens: int = 0  # tokens whose KV is in the cache
    block_ids: list[int] = field(default_factory=list)
    num_preemptions: int = 0

    def __post_init__(self):
        if self.num_tokens == 0:
            self.num_tokens = self.num_prompt_tokens

    @property
    def num_output_tokens(self) -> int:
        return self.num_tokens - self.num_prompt_tokens


class BlockAllocator:
    """Given: hands out block ids so a request holds ceil(tokens / block_size) blocks."""

    def __init__(self, num_blocks: int, block_size: int):
        self.block_size = block_size
        self.num_blocks = num_blocks
        self.free_ids = deque(range(num_blocks))

    @property
    def num_free_blocks(self) -> int:
        return len(self.free_ids)

    def blocks_needed(self, req: Request, num_new_tokens: int) -> int:
        total = -(-(req.num_computed_tokens + num_new_tokens) // self.block_size)
        return max(0, total - len(req.block_ids))

    def allocate(self, req: Request, num_new_tokens: int) -> bool:
        """Give req room for num_new_tokens more tokens; False (and no change) if out of blocks."""
        need = self.blocks_needed(req, num_new_tokens)
        if need > len(self.free_ids):
            return False
        req.block_ids.extend(self.free_ids.popleft() for _ in range(need))
        return True

    def free(self, req: Request) -> None:
        self.free_ids.extendleft(reversed(req.block_ids))
        req.block_ids = []


@dataclass
class SchedulerOutput:
    num_scheduled_tokens: dict[str, int]  # request id -> tokens this step, in scheduling order
    preempted_req_ids: list[str]  # in the order they were preempted

    @property
    def total_num_scheduled_tokens(self) -> int:
        return sum(self.num_scheduled_tokens.values())


class Scheduler:
    def __init__(self, allocator: BlockAllocator, max_num_batched_tokens: int, max_num_seqs: int):
        if max_num_batched_tokens < 1 or max_num_seqs < 1:
            raise ValueError("max_num_batched_tokens and max_num_seqs must be >= 1")
        self.allocator = allocator
        self.max_num_batched_tokens = max_num_batched_tokens
        self.max_num_seqs = max_num_seqs
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []
        self.finished: list[str] = []

    def add_request(self, req: Request) -> None:
        self.waiting.append(req)

    def _preempt(self, req: Request) -> None:
        # Recompute preemption: drop the KV, start over later, ahead of everyone waiting.
        self.allocator.free(req)
        req.num_computed_tokens = 0
        req.num_preemptions += 1
        self.waiting.appendleft(req)

    def schedule(self) -> SchedulerOutput:
        budget = self.max_num_batched_tokens
        scheduled: dict[str, int] = {}
        preempted: list[str] = []

        # 1. Running requests first: decodes (1 token) and unfinished chunked prefills.
        i = 0
        while i < len(self.running) and budget > 0:
            req = self.running[i]
            n = min(req.num_tokens - req.num_computed_tokens, budget)
            if n <= 0:
                i += 1
                continue
            fits = True
            while not self.allocator.allocate(req, n):
                victim = self.running.pop()  # lowest priority under FCFS: the newest
                self._preempt(victim)
                preempted.append(victim.request_id)
                if victim is req:
                    fits = False
                    break
            if not fits:
                break  # it preempted itself: it was the last running request left
            scheduled[req.request_id] = n
            budget -= n
            i += 1

        # 2. Waiting requests, FCFS, only if this step preempted nobody.
        if not preempted:
            while budget > 0 and self.waiting and len(self.running) < self.max_num_seqs:
                req = self.waiting[0]
                n = min(req.num_tokens - req.num_computed_tokens, budget)  # chunked prefill
                if not self.allocator.allocate(req, n):
                    break  # head of line waits; nobody overtakes it
                self.waiting.popleft()
                self.running.append(req)
                scheduled[req.request_id] = n
                budget -= n

        for req in self.running:
            req.num_computed_tokens += scheduled.get(req.request_id, 0)
        return SchedulerOutput(num_scheduled_tokens=scheduled, preempted_req_ids=preempted)

    def update_from_output(self, output: SchedulerOutput) -> None:
        """Given: after the forward pass, requests that computed all their tokens sample one more."""
        for req in list(self.running):
            if req.request_id not in output.num_scheduled_tokens:
                continue
            if req.num_computed_tokens == req.num_tokens:  # not mid-prefill
                req.num_tokens += 1
                if req.num_output_tokens >= req.max_tokens:
                    self.running.remove(req)
                    self.allocator.free(req)
                    self.finished.append(req.request_id)
