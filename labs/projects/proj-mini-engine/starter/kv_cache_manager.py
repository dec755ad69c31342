"""Starter (fill in every NotImplementedError). Stages 2 and 5: per-request block tables on top of the block pool.

Mirrors vllm/v1/core/kv_cache_manager.py::KVCacheManager (allocate_slots,
get_computed_blocks, free) for one full-attention KV cache group; vLLM's
single_type_kv_cache_manager.py::FullAttentionManager holds the per-request
block lists it delegates to.
"""
from __future__ import annotations

from block_pool import BlockPool, KVCacheBlock, hash_block_tokens  # noqa: F401 (you will need it)


class KVCacheManager:
    def __init__(self, num_blocks: int, block_size: int, enable_caching: bool = False) -> None:
        self.block_size = block_size
        self.enable_caching = enable_caching
        self.pool = BlockPool(num_blocks, enable_caching)
        self.req_blocks: dict[str, list[KVCacheBlock]] = {}
        self.num_cached_blocks: dict[str, int] = {}  # blocks of each request already registered
        self.prefix_queries = 0  # prompt tokens looked up (stage 5 stats)
        self.prefix_hits = 0  # of which served from the cache

    def block_ids(self, request_id: str) -> list[int]:
        return [b.block_id for b in self.req_blocks.get(request_id, [])]

    # ---- stage 5
    def update_block_hashes(self, request) -> None:
        """Extend request.block_hashes over every full block of its tokens, chaining each to its parent."""
        raise NotImplementedError("stage 5: hash every new full block")

    def get_computed_blocks(self, request) -> tuple[list[KVCacheBlock], int]:
        """The longest run of cached full blocks from the start of the request's tokens.

        At most (num_tokens - 1) tokens may hit: the last token must be
        computed to get logits for the next one."""
        if not self.enable_caching:
            return [], 0
        raise NotImplementedError("stage 5: longest cached prefix, at most num_tokens - 1 tokens")

    # ---- stage 2
    def allocate_slots(self, request, num_new_tokens: int,
                       new_computed_blocks: list[KVCacheBlock] | None = None) -> list[KVCacheBlock] | None:
        """Make room for request.num_computed_tokens + cache hits + num_new_tokens tokens.

        Returns the newly allocated blocks, or None (changing nothing) when the
        pool cannot supply them: the scheduler then preempts or stops."""
        raise NotImplementedError("stage 2: grow the request's block table or return None")

    def _cache_blocks(self, request, num_tokens: int) -> None:
        """Stage 5: register the request's blocks that are full once num_tokens are in the cache."""
        raise NotImplementedError("stage 5: register the blocks that are now full")

    def free(self, request) -> None:
        """Give back every block of the request, tail first (tail blocks are evicted first)."""
        raise NotImplementedError("stage 2: give every block back, tail first")
