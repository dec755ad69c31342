"""A KV cache manager: per-request block tables over a prefix-caching block pool.

Block and FreeBlockQueue are given (the py-block-pool lab). Everything marked
TODO is yours; README.md describes each stage and the tests it must pass.
"""
import hashlib
import pickle  # noqa: F401  (you will want pickle.dumps)
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
    """sha256 over (parent or NONE_HASH, tuple(token_ids)), as in the py-prefix-cache lab."""
    # TODO (stage 2)
    raise NotImplementedError("hash_block")


class KVCacheManager:
    def __init__(self, num_blocks: int, block_size: int):
        """Blocks 0..num_blocks-1; block 0 is the null block and is never handed out.
        ValueError unless num_blocks >= 2 and block_size >= 1."""
        # TODO (stage 1)
        raise NotImplementedError("KVCacheManager.__init__")

    @property
    def num_free_blocks(self) -> int:
        """Blocks in the free queue, cached-but-unused (evictable) ones included."""
        # TODO (stage 1)
        raise NotImplementedError("num_free_blocks")

    @property
    def num_evictable_blocks(self) -> int:
        """Free blocks that still hold a cached hash."""
        # TODO (stage 3)
        raise NotImplementedError("num_evictable_blocks")

    def block_ids(self, request_id: str) -> list[int]:
        """The request's block table. KeyError for an unknown request."""
        # TODO (stage 1)
        raise NotImplementedError("block_ids")

    def ref_count(self, block_id: int) -> int:
        # TODO (stage 1)
        raise NotImplementedError("ref_count")

    def allocate(self, request_id: str, token_ids: Sequence[int]) -> int:
        """Give a new request blocks for its prompt and return how many of its
        tokens were served from the prefix cache (a multiple of block_size, at
        most len(token_ids) - 1). ValueError for a known request id or an empty
        prompt; NoFreeBlocksError (and no change at all) if the blocks cannot be
        found even by evicting."""
        # TODO (stages 1-3)
        raise NotImplementedError("allocate")

    def append_tokens(self, request_id: str, token_ids: Sequence[int]) -> None:
        """Add tokens (sampled outputs) to a running request, growing its table by
        a block each time one fills. Full blocks become cached. NoFreeBlocksError
        (and no change) when out of blocks. KeyError for an unknown request."""
        # TODO (stages 1-3)
        raise NotImplementedError("append_tokens")

    def free(self, request_id: str) -> None:
        """The request finished: drop its references, tail block first. KeyError
        for an unknown request."""
        # TODO (stages 1-3)
        raise NotImplementedError("free")
