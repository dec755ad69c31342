"""Stages 2 and 5: the pool of KV cache blocks.

Mirrors vllm/v1/core/block_pool.py::BlockPool and
vllm/v1/core/kv_cache_utils.py::FreeKVCacheBlockQueue / KVCacheBlock /
hash_block_tokens. Block 0 is the null block (vLLM's null_block): never
handed out, used to pad block tables.
"""
from __future__ import annotations

import hashlib
import pickle
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
    return hashlib.sha256(pickle.dumps((parent_hash, tuple(token_ids)))).digest()


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
        if n > len(self.free_queue):
            raise ValueError(f"cannot get {n} blocks: {len(self.free_queue)} free")
        out = []
        for _ in range(n):
            block = self.free_queue.popleft()
            if block.block_hash is not None:  # stage 5: eviction
                if self.cached.get(block.block_hash) is block:
                    del self.cached[block.block_hash]
                block.block_hash = None
            block.ref_cnt = 1
            out.append(block)
        return out

    def free_blocks(self, ordered: Iterable[KVCacheBlock]) -> None:
        """Drop one reference from each block; blocks reaching 0 become free.

        `ordered` comes first-to-evict first (the caller passes a request's
        blocks tail first). Blocks holding a hash go to the back (evicted last,
        least recently used first); plain blocks to the front (reused first)."""
        first: list[KVCacheBlock] = []
        for block in ordered:
            block.ref_cnt -= 1
            if block.ref_cnt == 0:
                if block.block_hash is None:
                    first.append(block)
                else:
                    self.free_queue.append(block)
        for block in reversed(first):
            self.free_queue.appendleft(block)

    # ---- stage 5: the prefix cache
    def get_cached_block(self, block_hash: bytes) -> KVCacheBlock | None:
        return self.cached.get(block_hash)

    def touch(self, blocks: Iterable[KVCacheBlock]) -> None:
        """Take a reference on cache hits; a hit sitting in the free queue leaves it."""
        for block in blocks:
            if block.ref_cnt == 0:
                self.free_queue.remove(block)
            block.ref_cnt += 1

    def cache_full_blocks(self, blocks: Sequence[KVCacheBlock], hashes: Sequence[bytes], start: int, end: int) -> None:
        """Register blocks[start:end] (now full) under their hashes; the first block with a hash keeps it."""
        for i in range(start, end):
            block = blocks[i]
            if block.block_hash is None:
                block.block_hash = hashes[i]
                self.cached.setdefault(hashes[i], block)
