"""Stages 2 and 5: per-request block tables on top of the block pool.

Mirrors vllm/v1/core/kv_cache_manager.py::KVCacheManager (allocate_slots,
get_computed_blocks, free) for one full-attention KV cache group; vLLM's
single_type_kv_cache_manager.py::FullAttentionManager holds the per-request
block lists it delegates to.
"""
from __future__ import annotations

from block_pool import BlockPool, KVCacheBlock, hash_block_tokens


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
        tokens, bs, hashes = request.all_token_ids, self.block_size, request.block_hashes
        while (len(hashes) + 1) * bs <= len(tokens):
            i = len(hashes)
            hashes.append(hash_block_tokens(hashes[-1] if hashes else None, tokens[i * bs:(i + 1) * bs]))

    def get_computed_blocks(self, request) -> tuple[list[KVCacheBlock], int]:
        """The longest run of cached full blocks from the start of the request's tokens.

        At most (num_tokens - 1) tokens may hit: the last token must be
        computed to get logits for the next one."""
        if not self.enable_caching:
            return [], 0
        self.update_block_hashes(request)
        limit = (request.num_tokens - 1) // self.block_size
        hits = []
        for block_hash in request.block_hashes[:limit]:
            block = self.pool.get_cached_block(block_hash)
            if block is None:
                break
            hits.append(block)
        self.prefix_queries += request.num_tokens
        self.prefix_hits += len(hits) * self.block_size
        return hits, len(hits) * self.block_size

    # ---- stage 2
    def allocate_slots(self, request, num_new_tokens: int,
                       new_computed_blocks: list[KVCacheBlock] | None = None) -> list[KVCacheBlock] | None:
        """Make room for request.num_computed_tokens + cache hits + num_new_tokens tokens.

        Returns the newly allocated blocks, or None (changing nothing) when the
        pool cannot supply them: the scheduler then preempts or stops."""
        hits = new_computed_blocks or []
        blocks = self.req_blocks.setdefault(request.request_id, [])
        total = request.num_computed_tokens + len(hits) * self.block_size + num_new_tokens
        needed = -(-total // self.block_size) - len(blocks) - len(hits)
        # hits with ref_cnt 0 sit in the free queue: touching them uses them up
        free_hits = sum(1 for b in hits if b.ref_cnt == 0)
        if needed > self.pool.num_free_blocks - free_hits:
            if not blocks:
                del self.req_blocks[request.request_id]
            return None
        if hits:
            self.pool.touch(hits)  # before taking new blocks, or a free hit could be evicted and reused
            blocks.extend(hits)
        new = self.pool.get_new_blocks(max(needed, 0))
        blocks.extend(new)
        if self.enable_caching:
            self._cache_blocks(request, total)
        return new

    def _cache_blocks(self, request, num_tokens: int) -> None:
        """Stage 5: register the request's blocks that are full once num_tokens are in the cache."""
        self.update_block_hashes(request)
        done = self.num_cached_blocks.get(request.request_id, 0)
        full = min(num_tokens // self.block_size, len(request.block_hashes))
        if full > done:
            self.pool.cache_full_blocks(self.req_blocks[request.request_id], request.block_hashes, done, full)
            self.num_cached_blocks[request.request_id] = full

    def free(self, request) -> None:
        """Give back every block of the request, tail first (tail blocks are evicted first)."""
        blocks = self.req_blocks.pop(request.request_id, [])
        self.num_cached_blocks.pop(request.request_id, None)
        self.pool.free_blocks(reversed(blocks))
