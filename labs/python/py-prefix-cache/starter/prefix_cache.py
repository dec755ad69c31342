"""Prefix caching over a block pool, the way vLLM 0.33.0 does it.

Block and FreeBlockQueue are given (they are the py-block-pool lab). Implement
the functions and methods marked TODO; README.md explains each one.
"""
import hashlib
import pickle  # noqa: F401  (you will want pickle.dumps)
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
    """sha256 digest (32 bytes) over (parent_hash or NONE_HASH, tuple(token_ids), extra_keys),
    serialised with pickle protocol 5. Equal inputs give equal digests; a list and
    a tuple of the same tokens hash the same."""
    # TODO
    raise NotImplementedError("hash_block_tokens")


def hash_request_blocks(token_ids: Sequence[int], block_size: int, extra_keys: tuple | None = None) -> list[bytes]:
    """Chained hashes of every FULL block of token_ids (block i's parent is block
    i-1's hash; block 0's parent is None). A partial tail is not hashed.
    ValueError for block_size <= 0."""
    # TODO
    raise NotImplementedError("hash_request_blocks")


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
        """The cached blocks of the longest prefix hit, in order, without taking
        references. At most (len(token_ids) - 1) // block_size blocks: the last
        token is always recomputed. Stops at the first miss."""
        # TODO
        raise NotImplementedError("lookup")

    def touch(self, blocks: Iterable[Block]) -> None:
        """Take one reference on each hit block. A block with ref_cnt 0 is in the
        free queue (an eviction candidate): remove it from there first."""
        # TODO
        raise NotImplementedError("touch")

    def allocate(self, n: int) -> list[Block]:
        """Pop n blocks from the front of the free queue with ref_cnt 1. A popped
        block that still has a hash is being evicted: drop its entry from
        self.cached and reset its block_hash. All or nothing: OutOfBlocks."""
        # TODO
        raise NotImplementedError("allocate")

    def cache_full_blocks(self, blocks: Sequence[Block], token_ids: Sequence[int], extra_keys: tuple | None = None) -> None:
        """blocks[i] holds block i of token_ids. Give every FULL block that has no
        hash yet its chained hash and register it in self.cached. If another
        block already holds that hash, keep the existing entry and leave this
        block unhashed."""
        # TODO
        raise NotImplementedError("cache_full_blocks")

    def free(self, blocks: Iterable[Block]) -> None:
        """Drop one reference per block (skip the null block), blocks given in
        eviction order (first = evict first). ValueError on a block already free.
        Blocks reaching 0 WITH a hash go to the back of the free queue in the given
        order (LRU: evicted last); blocks WITHOUT a hash go to the front, the first
        listed at the very front (reused first)."""
        # TODO
        raise NotImplementedError("free")
