"""Starter (fill in every NotImplementedError). Stages 2 and 5: the pool of KV cache blocks.

Mirrors vllm/v1/core/block_pool.py::BlockPool and
vllm/v1/core/kv_cache_utils.py::FreeKVCacheBlockQueue / KVCacheBlock /
hash_block_tokens. Block 0 is the null block (vLLM's null_block): never
handed out, used to pad block tables.
"""
from __future__ import annotations

import hashlib  # noqa: F401 (you will need it)
import pickle  # noqa: F401 (you will need it)
from collections import OrderedDict
from collections.abc import Iterable, Sequence


class KVCacheBlock:
    __slots__ = ("block_id", "ref_cnt", "block_hash")

    def __init__(self, block_id: int) -> None:
        self.block_id = block_id
        self.ref_cnt = 0
        self.block_hash: bytes | None = None

    def __repr__(self) -> str:
        return f"KVCacheBlock({self.block_id}, ref_cnt={self.ref_cnt}, cached={self.block_hash is not None})"


def hash_block_tokens(parent_hash: bytes | None, token_ids: Sequence[int]) -> bytes:
    """Stage 5: sha256 over (parent hash, this block's tokens): a block's hash names its whole prefix."""
    raise NotImplementedError("stage 5: chained sha256 of (parent hash, tokens)")


class FreeBlockQueue:
    """Free blocks in eviction order: take from the front, O(1) removal from the middle.

    vLLM keeps a doubly linked list threaded through the blocks; an ordered
    dict block_id -> block gives the same operations here."""

    def __init__(self, blocks: Iterable[KVCacheBlock]) -> None:
        self._q: OrderedDict[int, KVCacheBlock] = OrderedDict((b.block_id, b) for b in blocks)

    def __len__(self) -> int:
        return len(self._q)

    def popleft(self) -> KVCacheBlock:
        return self._q.popitem(last=False)[1]

    def remove(self, block: KVCacheBlock) -> None:
        del self._q[block.block_id]

    def append(self, block: KVCacheBlock) -> None:
        self._q[block.block_id] = block

    def appendleft(self, block: KVCacheBlock) -> None:
        self._q[block.block_id] = block
        self._q.move_to_end(block.block_id, last=False)

    def block_ids(self) -> list[int]:
        return list(self._q)


class BlockPool:
    def __init__(self, num_blocks: int, enable_caching: bool) -> None:
        if num_blocks < 2:
            raise ValueError("need the null block and at least one more")
        self.blocks = [KVCacheBlock(i) for i in range(num_blocks)]
        self.null_block = self.blocks[0]
        self.free_queue = FreeBlockQueue(self.blocks[1:])
        self.enable_caching = enable_caching
        self.cached: dict[bytes, KVCacheBlock] = {}  # hash -> block (stage 5)

    @property
    def num_free_blocks(self) -> int:
        return len(self.free_queue)

    @property
    def num_used_blocks(self) -> int:
        return len(self.blocks) - 1 - len(self.free_queue)

    def get_new_blocks(self, n: int) -> list[KVCacheBlock]:
        """Take n blocks from the front of the free queue; a block that still
        holds a hash is evicted from the prefix cache on the way out."""
        raise NotImplementedError("stage 2: pop n blocks from the front of the free queue")

    def free_blocks(self, ordered: Iterable[KVCacheBlock]) -> None:
        """Drop one reference from each block; blocks reaching 0 become free.

        `ordered` comes first-to-evict first (the caller passes a request's
        blocks tail first). Blocks holding a hash go to the back (evicted last,
        least recently used first); plain blocks to the front (reused first)."""
        raise NotImplementedError("stage 2: drop a reference; blocks at 0 return to the free queue")

    # ---- stage 5: the prefix cache
    def get_cached_block(self, block_hash: bytes) -> KVCacheBlock | None:
        raise NotImplementedError("stage 5: look a hash up")

    def touch(self, blocks: Iterable[KVCacheBlock]) -> None:
        """Take a reference on cache hits; a hit sitting in the free queue leaves it."""
        raise NotImplementedError("stage 5: take a reference on cache hits")

    def cache_full_blocks(self, blocks: Sequence[KVCacheBlock], hashes: Sequence[bytes], start: int, end: int) -> None:
        """Register blocks[start:end] (now full) under their hashes; the first block with a hash keeps it."""
        raise NotImplementedError("stage 5: register full blocks under their hashes")
