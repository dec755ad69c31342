"""Stage 5: prefix caching: chained hashes over full blocks, hits, the last-token rule, LRU eviction."""
from conftest import BLOCK_SIZE, assert_matches_transformers, greedy, model_for, run_engine

CACHED = dict(enable_chunked_prefill=True, enable_prefix_caching=True)
SHARED = list(range(14, 21))  # prompts 14..20 share a 37-token prefix; prompt 21 is its first 32 tokens


def test_hash_is_chained(lab):
    h = lab.block_pool.hash_block_tokens
    a = h(None, [1, 2, 3, 4])
    assert h(None, [1, 2, 3, 4]) == a and isinstance(a, bytes)
    assert h(a, [5, 6, 7, 8]) != h(h(None, [9, 9, 9, 9]), [5, 6, 7, 8]), "a block's hash must depend on its parent"
    assert h(None, [1, 2, 3, 4]) != h(None, [1, 2, 3, 5])


def test_request_hashes_cover_full_blocks_only(lab):
    kv = lab.kv_cache_manager.KVCacheManager(20, 4, enable_caching=True)
    req = lab.request.Request("a", list(range(11)), greedy(lab, 3))
    kv.update_block_hashes(req)
    h = lab.block_pool.hash_block_tokens
    assert req.block_hashes == [h(None, [0, 1, 2, 3]), h(h(None, [0, 1, 2, 3]), [4, 5, 6, 7])]


def test_shared_prefix_is_served_from_the_cache(lab, ref):
    e = lab.engine.LLMEngine(model_for(lab, ref), lab.engine.EngineConfig(
        block_size=BLOCK_SIZE, num_blocks=200, max_num_batched_tokens=256, max_num_seqs=8, device="cpu", **CACHED))
    first, second = SHARED[0], SHARED[1]
    e.add_request(str(first), ref.prompts[first], greedy(lab, ref.max_new[first]))
    e.step()
    e.add_request(str(second), ref.prompts[second], greedy(lab, ref.max_new[second]))
    req = e.requests[str(second)]
    e.step()
    assert req.num_cached_tokens == 32, "37 shared tokens = 4 full blocks of 8 = 32 cached tokens"
    assert e.step_log[1][1] == (str(second), len(ref.prompts[second]) - 32), "hits must not be recomputed"
    first_blocks = e.kv.block_ids(str(first))[:4]
    assert e.kv.block_ids(str(second))[:4] == first_blocks, "the hit must reuse the same physical blocks"
    assert all(e.kv.pool.blocks[b].ref_cnt == 2 for b in first_blocks)


def test_a_full_hit_still_computes_the_last_token(lab, ref):
    """Prompt 21 is exactly 4 blocks, all cached: only 3 may hit, the last block is recomputed."""
    e = lab.engine.LLMEngine(model_for(lab, ref), lab.engine.EngineConfig(
        block_size=BLOCK_SIZE, num_blocks=200, max_num_batched_tokens=256, max_num_seqs=8, device="cpu", **CACHED))
    e.add_request("14", ref.prompts[14], greedy(lab, ref.max_new[14]))
    out = {o.request_id: list(o.new_token_ids) for o in e.step()}
    e.add_request("21", ref.prompts[21], greedy(lab, ref.max_new[21]))
    req = e.requests["21"]
    while e.has_unfinished_requests():
        for o in e.step():
            out.setdefault(o.request_id, []).extend(o.new_token_ids)
    assert req.num_cached_tokens == 24
    assert out["21"] == ref.greedy[21] and out["14"] == ref.greedy[14]


def test_prefix_cached_greedy_equals_transformers(lab, ref):
    engine, done = run_engine(lab, ref, max_num_seqs=4, max_num_batched_tokens=48, **CACHED)
    assert_matches_transformers(ref, done)
    assert engine.kv.prefix_hits >= 6 * 32, "the six later shared-prefix prompts should each hit 4 blocks"


def test_lru_eviction_tail_first(lab):
    """Freed cached blocks stay reusable until the pool needs them; the least recently
    freed go first, and within a request its tail block goes before its head."""
    kv = lab.kv_cache_manager.KVCacheManager(9, 4, enable_caching=True)  # 8 usable blocks
    R = lab.request.Request
    a, b = list(range(100, 113)), list(range(200, 213))  # 13 tokens: 3 full blocks + 1
    for rid, toks in (("a", a), ("b", b)):
        req = R(rid, toks, greedy(lab, 1))
        assert kv.allocate_slots(req, 13) is not None
        kv.free(req)
    assert kv.pool.num_free_blocks == 8
    c = R("c", list(range(300, 310)), greedy(lab, 1))  # 3 blocks: must evict a's tail block only
    assert kv.allocate_slots(c, 10) is not None
    a2, n_a = kv.get_computed_blocks(R("a2", a, greedy(lab, 1)))
    b2, n_b = kv.get_computed_blocks(R("b2", b, greedy(lab, 1)))
    assert n_b == 12, "b was freed last: all of its cached blocks must survive"
    assert n_a == 8, "a's tail block is evicted first; its first two blocks still hit"


def test_hits_stop_at_the_first_miss(lab):
    kv = lab.kv_cache_manager.KVCacheManager(20, 4, enable_caching=True)
    R = lab.request.Request
    base = list(range(1, 17))
    req = R("a", base + [99], greedy(lab, 1))
    kv.allocate_slots(req, 17)
    changed = base[:4] + [0, 0, 0, 0] + base[8:] + [99]  # block 1 differs, blocks 2 and 3 equal
    _, n = kv.get_computed_blocks(R("b", changed, greedy(lab, 1)))
    assert n == 4, "block 1 misses, so blocks 2 and 3 cannot hit (their parents differ)"
