"""Prefix caching over a block pool, the way vLLM 0.33.0 does it.

Reference solution. See README.md.
"""
import hashlib
import pickle
from collections.abc import Iterable, Iterator, Sequence

# Parent hash of every sequence's first block: a fixed seed, so equal prompts
# hash equally in every process (vLLM derives its NONE_HASH the same way).
NONE_HASH = hashlib.sha256(b"vlearn-none-hash").digest()


class OutOfBlocks(Exception):
    """Raised when an allocation asks for more blocks than are free."""


class Block:
    __slots__ = ("block_hash", "block_id", "is_null", "next_free", "prev_free", "ref_cnt")

    def __init__(self, block_id: int):
        self.block_id = block_id
        self.ref_cnt = 0
        self.block_hash: bytes | None = None  # set once the block is full and cached
        self.prev_free: Block | None = None
        self.next_free: Block | None = None
        self.is_null = False

    def __repr__(self) -> str:
        h = self.block_hash.hex()[:8] if self.block_hash else None
        return f"Block({self.block_id}, ref_cnt={self.ref_cnt}, hash={h})"


class FreeBlockQueue:
    """Intrusive doubly linked list with sentinels (the py-block-pool lab)."""

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
        if block.prev_free is not None:
            raise ValueError(f"{block} is already in the free queue")
        prev = before.prev_free
        prev.next_free, block.prev_free = block, prev
        block.next_free, before.prev_free = before, block
        self._len += 1

    def append(self, block: Block) -> None:
        self._link(block, self._tail)

    def appendleft(self, block: Block) -> None:
        self._link(block, self._head.next_free)

    def remove(self, block: Block) -> None:
        prev, nxt = block.prev_free, block.next_free
        if prev is None or nxt is None:
            raise ValueError(f"{block} is not in the free queue")
        prev.next_free, nxt.prev_free = nxt, prev
        block.prev_free = block.next_free = None
        self._len -= 1

    def popleft(self) -> Block:
        first = self._head.next_free
        if first is self._tail:
            raise IndexError("popleft from an empty free queue")
        self.remove(first)
        return first


def hash_block_tokens(parent_hash: bytes | None, token_ids: Sequence[int], extra_keys: tuple | None = None) -> bytes:
    """sha256 over (parent hash, this block's tokens, extra keys)."""
    payload = (parent_hash or NONE_HASH, tuple(token_ids), extra_keys)
    return hashlib.sha256(pickle.dumps(payload, protocol=5)).digest()


def hash_request_blocks(token_ids: Sequence[int], block_size: int, extra_keys: tuple | None = None) -> list[bytes]:
    """Chained hashes of every FULL block of token_ids; a partial tail is not hashed."""
    if block_size <= 0:
        raise ValueError("block_size must be positive")
    hashes: list[bytes] = []
    parent = None
    for start in range(0, len(token_ids) - block_size + 1, block_size):
        parent = hash_block_tokens(parent, token_ids[start : start + block_size], extra_keys)
        hashes.append(parent)
    return hashes


class PrefixCachingBlockPool:
    def __init__(self, num_blocks: int, block_size: int):
        if num_blocks < 2 or block_size < 1:
            raise ValueError("need num_blocks >= 2 and block_size >= 1")
        self.block_size = block_size
        self.blocks = [Block(i) for i in range(num_blocks)]
        self.free_queue = FreeBlockQueue(self.blocks)
        self.null_block = self.free_queue.popleft()
        self.null_block.is_null = True
        self.cached: dict[bytes, Block] = {}  # block hash -> the block holding it

    @property
    def num_free_blocks(self) -> int:
        return len(self.free_queue)

    def lookup(self, token_ids: Sequence[int], extra_keys: tuple | None = None) -> list[Block]:
        """Cached blocks of the longest prefix hit, at most (len - 1) // block_size of them."""
        limit = max(len(token_ids) - 1, 0) // self.block_size
        hit: list[Block] = []
        for block_hash in hash_request_blocks(token_ids[: limit * self.block_size], self.block_size, extra_keys):
            block = self.cached.get(block_hash)
            if block is None:
                break  # chained hashes: nothing after a miss can hit
            hit.append(block)
        return hit

    def touch(self, blocks: Iterable[Block]) -> None:
        """Take a reference on hit blocks; a free one leaves the queue (no longer evictable)."""
        for block in blocks:
            if block.ref_cnt == 0:
                self.free_queue.remove(block)
            block.ref_cnt += 1

    def _evict(self, block: Block) -> None:
        if block.block_hash is not None:
            if self.cached.get(block.block_hash) is block:
                del self.cached[block.block_hash]
            block.block_hash = None

    def allocate(self, n: int) -> list[Block]:
        if n < 0:
            raise ValueError(f"cannot allocate {n} blocks")
        if n > len(self.free_queue):
            raise OutOfBlocks(f"asked for {n} blocks, {len(self.free_queue)} free")
        out = [self.free_queue.popleft() for _ in range(n)]
        for block in out:
            self._evict(block)  # reusing a cached block drops its hash
            block.ref_cnt = 1
        return out

    def cache_full_blocks(self, blocks: Sequence[Block], token_ids: Sequence[int], extra_keys: tuple | None = None) -> None:
        """Register every full block of token_ids (held in blocks[i]) that is not cached yet."""
        for block, block_hash in zip(blocks, hash_request_blocks(token_ids, self.block_size, extra_keys)):
            if block.block_hash is not None:
                continue  # already cached (a hit, or cached in an earlier step)
            if block_hash in self.cached:
                continue  # same content in another block: keep the first (vLLM keeps both)
            block.block_hash = block_hash
            self.cached[block_hash] = block

    def free(self, blocks: Iterable[Block]) -> None:
        """Drop a reference per block, given in eviction order (first = evict first)."""
        blocks = [b for b in blocks if not b.is_null]
        for block in blocks:
            if block.ref_cnt <= 0:
                raise ValueError(f"{block} is already free")
        evict_first, evict_last = [], []
        for block in blocks:
            block.ref_cnt -= 1
            if block.ref_cnt == 0:
                (evict_last if block.block_hash is not None else evict_first).append(block)
        for block in reversed(evict_first):  # unhashed: reuse first
            self.free_queue.appendleft(block)
        for block in evict_last:  # hashed: keep as long as possible (LRU)
            self.free_queue.append(block)
