"""A KV cache manager: per-request block tables over a prefix-caching block pool.

Reference solution for all three stages. See README.md.
"""
import hashlib
import pickle
from collections.abc import Iterator, Sequence

NONE_HASH = hashlib.sha256(b"vlearn-none-hash").digest()


class NoFreeBlocksError(RuntimeError):
    """Not enough blocks, even after evicting every evictable cached block."""


class Block:
    __slots__ = ("block_hash", "block_id", "next_free", "prev_free", "ref_cnt")

    def __init__(self, block_id: int):
        self.block_id = block_id
        self.ref_cnt = 0
        self.block_hash: bytes | None = None
        self.prev_free: Block | None = None
        self.next_free: Block | None = None


class FreeBlockQueue:
    """Intrusive doubly linked list with sentinels: O(1) append, appendleft, remove, popleft."""

    def __init__(self, blocks: list[Block]):
        self._head, self._tail = Block(-1), Block(-1)
        self._head.next_free, self._tail.prev_free = self._tail, self._head
        self._len = 0
        for block in blocks:
            self.append(block)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Block]:
        node = self._head.next_free
        while node is not self._tail:
            yield node
            node = node.next_free

    def _link(self, block: Block, before: Block) -> None:
        prev = before.prev_free
        prev.next_free, block.prev_free = block, prev
        block.next_free, before.prev_free = before, block
        self._len += 1

    def append(self, block: Block) -> None:
        self._link(block, self._tail)

    def appendleft(self, block: Block) -> None:
        self._link(block, self._head.next_free)

    def remove(self, block: Block) -> None:
        block.prev_free.next_free = block.next_free
        block.next_free.prev_free = block.prev_free
        block.prev_free = block.next_free = None
        self._len -= 1

    def popleft(self) -> Block:
        first = self._head.next_free
        if first is self._tail:
            raise IndexError("popleft from an empty free queue")
        self.remove(first)
        return first


def hash_block(parent: bytes | None, token_ids: Sequence[int]) -> bytes:
    return hashlib.sha256(pickle.dumps((parent or NONE_HASH, tuple(token_ids)), protocol=5)).digest()


class _RequestState:
    __slots__ = ("block_hashes", "blocks", "token_ids")

    def __init__(self):
        self.token_ids: list[int] = []
        self.blocks: list[Block] = []
        self.block_hashes: list[bytes] = []  # chained hashes of the full blocks so far


class KVCacheManager:
    def __init__(self, num_blocks: int, block_size: int):
        if num_blocks < 2 or block_size < 1:
            raise ValueError("need num_blocks >= 2 and block_size >= 1")
        self.block_size = block_size
        self.blocks = [Block(i) for i in range(num_blocks)]
        self.free_queue = FreeBlockQueue(self.blocks[1:])  # block 0: the null block
        self.cached: dict[bytes, Block] = {}
        self.requests: dict[str, _RequestState] = {}

    # ---- queries -------------------------------------------------------------
    @property
    def num_free_blocks(self) -> int:
        return len(self.free_queue)

    @property
    def num_evictable_blocks(self) -> int:
        return sum(1 for b in self.free_queue if b.block_hash is not None)

    def block_ids(self, request_id: str) -> list[int]:
        return [b.block_id for b in self.requests[request_id].blocks]

    def ref_count(self, block_id: int) -> int:
        return self.blocks[block_id].ref_cnt

    # ---- internals -----------------------------------------------------------
    def _blocks_for(self, num_tokens: int) -> int:
        return -(-num_tokens // self.block_size)

    def _hashes(self, token_ids: Sequence[int], start: list[bytes]) -> list[bytes]:
        """Extend the chained hashes `start` over every full block of token_ids."""
        hashes = list(start)
        bs = self.block_size
        for i in range(len(hashes), len(token_ids) // bs):
            hashes.append(hash_block(hashes[-1] if hashes else None, token_ids[i * bs : (i + 1) * bs]))
        return hashes

    def _check_room(self, n: int, protected: int = 0) -> None:
        """Raise unless n blocks can be taken; `protected` free blocks are hits about to be touched."""
        available = len(self.free_queue) - protected
        if n > available:
            raise NoFreeBlocksError(
                f"need {n} new blocks but only {available} can be freed up "
                f"({len(self.free_queue)} free, {self.num_evictable_blocks} of them evictable cached "
                f"blocks, {protected} of those are this request's own prefix hits); "
                f"every other block is in use"
            )

    def _take(self, n: int) -> list[Block]:
        """Pop n blocks from the front, evicting cached ones; all or nothing."""
        self._check_room(n)
        out = []
        for _ in range(n):
            block = self.free_queue.popleft()
            if block.block_hash is not None:  # evict: its content is about to be overwritten
                if self.cached.get(block.block_hash) is block:
                    del self.cached[block.block_hash]
                block.block_hash = None
            block.ref_cnt = 1
            out.append(block)
        return out

    def _cache_full_blocks(self, state: _RequestState) -> None:
        state.block_hashes = self._hashes(state.token_ids, state.block_hashes)
        for block, block_hash in zip(state.blocks, state.block_hashes):
            if block.block_hash is None and block_hash not in self.cached:
                block.block_hash = block_hash
                self.cached[block_hash] = block

    # ---- stage 1-3 API -------------------------------------------------------
    def allocate(self, request_id: str, token_ids: Sequence[int]) -> int:
        """Blocks for a new request's prompt; returns how many tokens were served from the cache."""
        if request_id in self.requests:
            raise ValueError(f"request {request_id!r} already has blocks")
        if not token_ids:
            raise ValueError("a request needs at least one token")
        token_ids = list(token_ids)
        hashes = self._hashes(token_ids, [])
        limit = (len(token_ids) - 1) // self.block_size  # the last token is always computed
        hits: list[Block] = []
        for block_hash in hashes[:limit]:
            block = self.cached.get(block_hash)
            if block is None:
                break
            hits.append(block)
        need = self._blocks_for(len(token_ids)) - len(hits)
        # Hits sitting in the free queue are not available for new blocks.
        self._check_room(need, protected=sum(1 for b in hits if b.ref_cnt == 0))
        # Touch hits BEFORE taking new blocks, or a hit at the front of the queue
        # would be evicted and handed out a second time.
        for block in hits:
            if block.ref_cnt == 0:
                self.free_queue.remove(block)
            block.ref_cnt += 1
        new = self._take(need)
        state = _RequestState()
        state.token_ids, state.blocks = token_ids, hits + new
        self.requests[request_id] = state
        self._cache_full_blocks(state)
        return len(hits) * self.block_size

    def append_tokens(self, request_id: str, token_ids: Sequence[int]) -> None:
        state = self.requests[request_id]
        total = len(state.token_ids) + len(token_ids)
        state.blocks.extend(self._take(self._blocks_for(total) - len(state.blocks)))
        state.token_ids.extend(token_ids)
        self._cache_full_blocks(state)

    def free(self, request_id: str) -> None:
        state = self.requests.pop(request_id)
        unhashed = []
        for block in reversed(state.blocks):  # tail first: evicted before the prefix
            block.ref_cnt -= 1
            if block.ref_cnt == 0:
                if block.block_hash is None:
                    unhashed.append(block)
                else:
                    self.free_queue.append(block)  # LRU: evicted last
        for block in reversed(unhashed):  # nobody can hit these: reuse first
            self.free_queue.appendleft(block)
