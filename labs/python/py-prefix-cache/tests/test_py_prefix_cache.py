"""Tests for py-prefix-cache: hashing, hits, LRU eviction, and a randomized run."""
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tui.core.labs.testing import examples, load_lab_module

BS = 4
SETTINGS = settings(
    max_examples=examples(40),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.generate],  # no shrinking: fail fast, well inside the time limit
)


@pytest.fixture
def pc(lab_dir):
    return load_lab_module(lab_dir, "prefix_cache.py")


def run_request(pool, tokens, extra_keys=None):
    """What the KV cache manager does for one request: hit, allocate the rest,
    cache the full blocks. Returns (blocks, number of hit blocks)."""
    hit = pool.lookup(tokens, extra_keys)
    pool.touch(hit)
    need = -(-len(tokens) // pool.block_size) - len(hit)
    blocks = hit + pool.allocate(need)
    pool.cache_full_blocks(blocks, tokens, extra_keys)
    return blocks, len(hit)


def finish(pool, blocks):
    pool.free(list(reversed(blocks)))  # tail first: evicted before the prefix


# ---- hashing ---------------------------------------------------------------

def test_hash_is_sha256_digest_and_deterministic(pc):
    h = pc.hash_block_tokens(None, [1, 2, 3, 4])
    assert isinstance(h, bytes) and len(h) == 32
    assert h == pc.hash_block_tokens(None, (1, 2, 3, 4))  # list or tuple: same block
    assert h == pc.hash_block_tokens(pc.NONE_HASH, [1, 2, 3, 4])  # no parent means NONE_HASH
    assert h != pc.hash_block_tokens(None, [1, 2, 3, 5])
    assert h != pc.hash_block_tokens(None, [4, 3, 2, 1])


def test_hash_chains_the_parent(pc):
    a = pc.hash_block_tokens(None, [9, 9, 9, 9])
    b = pc.hash_block_tokens(None, [8, 8, 8, 8])
    # Same tokens, different parents: different blocks.
    assert pc.hash_block_tokens(a, [1, 2, 3, 4]) != pc.hash_block_tokens(b, [1, 2, 3, 4])


def test_only_full_blocks_are_hashed(pc):
    assert len(pc.hash_request_blocks(list(range(11)), BS)) == 2
    assert len(pc.hash_request_blocks(list(range(12)), BS)) == 3
    assert pc.hash_request_blocks(list(range(3)), BS) == []
    assert pc.hash_request_blocks([], BS) == []
    hashes = pc.hash_request_blocks(list(range(8)), BS)
    assert hashes[0] == pc.hash_block_tokens(None, [0, 1, 2, 3])
    assert hashes[1] == pc.hash_block_tokens(hashes[0], [4, 5, 6, 7])
    with pytest.raises(ValueError):
        pc.hash_request_blocks([1, 2], 0)


def test_early_change_changes_every_later_hash(pc):
    base = list(range(100, 120))  # 5 full blocks
    first = [0] + base[1:]
    third = base[:9] + [0] + base[10:]  # token 9 is in block 2
    h, h1, h3 = (pc.hash_request_blocks(t, BS) for t in (base, first, third))
    assert all(x != y for x, y in zip(h, h1))
    assert h[:2] == h3[:2]
    assert all(x != y for x, y in zip(h[2:], h3[2:]))


def test_extra_keys_separate_equal_blocks(pc):
    tokens = [1, 2, 3, 4]
    plain = pc.hash_block_tokens(None, tokens)
    lora_a = pc.hash_block_tokens(None, tokens, ("lora-a",))
    lora_b = pc.hash_block_tokens(None, tokens, ("lora-b",))
    assert len({plain, lora_a, lora_b}) == 3
    assert lora_a == pc.hash_block_tokens(None, tokens, ("lora-a",))


# ---- hits ------------------------------------------------------------------

def test_shared_prefix_hits_across_requests(pc):
    pool = pc.PrefixCachingBlockPool(16, BS)
    system = list(range(1000, 1008))  # two full blocks of shared system prompt
    a_blocks, a_hit = run_request(pool, system + [1, 2, 3])
    assert a_hit == 0
    b_blocks, b_hit = run_request(pool, system + [7, 7, 7, 7, 5])
    assert b_hit == 2
    assert b_blocks[:2] == a_blocks[:2]  # the same physical blocks
    assert [b.ref_cnt for b in a_blocks[:2]] == [2, 2]
    assert b_blocks[2] is not a_blocks[2]


def test_partial_block_is_never_cached(pc):
    pool = pc.PrefixCachingBlockPool(8, BS)
    blocks, _ = run_request(pool, list(range(10)))  # 2 full blocks + 2 tokens
    assert blocks[0].block_hash is not None and blocks[1].block_hash is not None
    assert blocks[2].block_hash is None
    assert len(pool.cached) == 2
    # A request sharing 10 tokens (and more) can only hit the 2 full blocks.
    assert len(pool.lookup(list(range(10)) + [50, 51, 52])) == 2


def test_lookup_leaves_the_last_token_to_compute(pc):
    pool = pc.PrefixCachingBlockPool(8, BS)
    tokens = list(range(8))
    blocks, _ = run_request(pool, tokens)
    # Fully cached 8-token prompt: only 1 block may hit, the last token needs logits.
    assert pool.lookup(tokens) == blocks[:1]
    assert pool.lookup(tokens + [99]) == blocks[:2]
    assert pool.lookup(tokens[:1]) == []
    assert pool.lookup([]) == []


def test_lookup_stops_at_first_miss(pc):
    pool = pc.PrefixCachingBlockPool(8, BS)
    blocks, _ = run_request(pool, list(range(13)))
    other = [50, 50, 50, 50] + list(range(4, 13))  # block 0 differs; blocks 1, 2 equal A's tokens
    assert pool.lookup(other) == []  # chained: later blocks cannot hit once one misses


def test_lookup_stops_when_the_prefix_was_evicted_but_later_blocks_remain(pc):
    pool = pc.PrefixCachingBlockPool(4, BS)  # 3 usable
    a, _ = run_request(pool, list(range(8)))  # 2 cached blocks
    pool.free(a)  # head first: the first block is evicted first
    pool.allocate(2)  # the 1 fresh block, then A's first block
    assert a[0].block_hash is None and a[1].block_hash is not None  # A's second block is still cached
    assert pool.lookup(list(range(8)) + [99]) == [], "a hit must be a prefix: nothing counts after a miss"


def test_extra_keys_miss_each_other(pc):
    pool = pc.PrefixCachingBlockPool(8, BS)
    run_request(pool, list(range(9)), ("lora-a",))
    assert len(pool.lookup(list(range(9)), ("lora-a",))) == 2
    assert pool.lookup(list(range(9)), ("lora-b",)) == []
    assert pool.lookup(list(range(9))) == []


def test_hit_on_free_block_takes_it_out_of_the_queue(pc):
    pool = pc.PrefixCachingBlockPool(8, BS)  # 7 usable
    blocks, _ = run_request(pool, list(range(9)))  # 3 blocks, 2 cached
    finish(pool, blocks)
    assert pool.num_free_blocks == 7
    cached = blocks[:2]
    assert all(b in list(pool.free_queue) for b in cached) and all(b.ref_cnt == 0 for b in cached)
    hit = pool.lookup(list(range(9)))
    assert hit == cached
    assert pool.num_free_blocks == 7  # lookup alone takes nothing
    pool.touch(hit)
    assert pool.num_free_blocks == 5
    assert all(b.ref_cnt == 1 for b in cached) and not any(b in list(pool.free_queue) for b in cached)


def test_touch_shared_running_block(pc):
    pool = pc.PrefixCachingBlockPool(8, BS)
    blocks, _ = run_request(pool, list(range(5)))  # still running
    free_before = pool.num_free_blocks
    pool.touch(pool.lookup(list(range(5))))
    assert blocks[0].ref_cnt == 2 and pool.num_free_blocks == free_before


# ---- where freed blocks go, and eviction -----------------------------------

def test_freed_cached_blocks_go_to_the_back_uncached_to_the_front(pc):
    pool = pc.PrefixCachingBlockPool(8, BS)
    blocks, _ = run_request(pool, list(range(10)))  # ids 1, 2 cached; 3 partial
    finish(pool, blocks)
    order = [b.block_id for b in pool.free_queue]
    assert order[0] == 3  # the partial (unhashed) block is reused first
    assert order[-2:] == [2, 1]  # cached tail block evicted before the prefix block
    assert pool.cached  # nothing evicted yet


def test_eviction_only_when_needed_and_in_lru_order(pc):
    pool = pc.PrefixCachingBlockPool(7, BS)  # 6 usable
    a, _ = run_request(pool, [1] * 8)  # A: 2 cached blocks
    finish(pool, a)
    b, _ = run_request(pool, [2] * 8)  # B: 2 cached blocks, from never-used blocks
    finish(pool, b)
    assert len(pool.cached) == 4  # nothing evicted: 2 fresh blocks were still free
    # Queue now: 2 fresh blocks, then A's (tail first), then B's.
    x = pool.allocate(3)  # 2 fresh blocks + evicts A's tail block
    assert a[1] in x and a[0] not in x
    assert a[1].block_hash is None and len(pool.cached) == 3
    assert pool.lookup([1] * 8 + [0]) == [a[0]]  # A's first block still hits
    assert len(pool.lookup([2] * 8 + [0])) == 2  # B untouched
    pool.allocate(1)  # next victim: A's first block
    assert pool.lookup([1] * 8 + [0]) == [] and len(pool.cached) == 2


def test_hit_refreshes_lru_position(pc):
    pool = pc.PrefixCachingBlockPool(5, BS)  # 4 usable
    a, _ = run_request(pool, [1] * 4 + [0])  # 1 cached + 1 partial
    finish(pool, a)
    b, _ = run_request(pool, [2] * 4 + [0])
    finish(pool, b)
    # A is older than B; using A again makes B the least recently used.
    again, hit = run_request(pool, [1] * 4 + [3])
    assert hit == 1
    finish(pool, again)
    pool.allocate(3)  # 2 partial blocks + 1 eviction
    assert pool.lookup([1] * 4 + [0]) == [a[0]]
    assert pool.lookup([2] * 4 + [0]) == []


def test_allocate_out_of_blocks(pc):
    pool = pc.PrefixCachingBlockPool(4, BS)
    pool.allocate(2)
    with pytest.raises(pc.OutOfBlocks):
        pool.allocate(2)
    assert pool.num_free_blocks == 1


def test_duplicate_content_keeps_first_block(pc):
    pool = pc.PrefixCachingBlockPool(8, BS)
    # Two requests with the same prompt computed concurrently (no hit for the second).
    a = pool.allocate(2)
    b = pool.allocate(2)
    pool.cache_full_blocks(a, [5] * 8)
    pool.cache_full_blocks(b, [5] * 8)
    assert pool.lookup([5] * 8 + [1]) == a
    assert all(blk.block_hash is None for blk in b)
    assert len(pool.cached) == 2


def test_free_rejects_double_free(pc):
    pool = pc.PrefixCachingBlockPool(4, BS)
    (blk,) = pool.allocate(1)
    pool.free([blk])
    with pytest.raises(ValueError):
        pool.free([blk])


# ---- randomized: a hit never serves the wrong tokens -----------------------

@SETTINGS
@given(
    prompts=st.lists(
        st.tuples(st.integers(0, 2), st.lists(st.integers(0, 3), min_size=0, max_size=9)),
        min_size=1,
        max_size=12,
    ),
    keep=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_random_requests_never_serve_wrong_kv(pc, prompts, keep):
    prefixes = [[7] * 8, [7] * 4 + [8] * 4, [9] * 6]  # shared system prompts
    pool = pc.PrefixCachingBlockPool(10, BS)
    content = {}  # block id -> the tokens the test "computed" into it
    running = []
    for i, (p, suffix) in enumerate(prompts):
        tokens = prefixes[p] + suffix
        need_total = -(-len(tokens) // BS)
        hit = pool.lookup(tokens)
        for j, blk in enumerate(hit):  # every hit holds exactly this prefix's tokens
            assert content[blk.block_id] == tuple(tokens[j * BS : (j + 1) * BS])
        assert len(hit) * BS <= len(tokens) - 1
        # Touching a free hit takes it out of the queue, so it no longer counts as free.
        if need_total - len(hit) > pool.num_free_blocks - sum(1 for b in hit if b.ref_cnt == 0):
            continue  # would not fit: a scheduler would wait
        pool.touch(hit)
        new = pool.allocate(need_total - len(hit))
        blocks = hit + new
        for j, blk in enumerate(blocks):
            content[blk.block_id] = tuple(tokens[j * BS : (j + 1) * BS])
        pool.cache_full_blocks(blocks, tokens)
        running.append(blocks)
        if not keep[i % len(keep)] and running:
            finish(pool, running.pop(0))
        # Invariants after every request.
        for h, blk in pool.cached.items():
            assert blk.block_hash == h and blk.block_id != 0
        queued = [b.block_id for b in pool.free_queue]
        assert len(queued) == len(set(queued)) == pool.num_free_blocks
        assert set(queued) == {b.block_id for b in pool.blocks[1:] if b.ref_cnt == 0}
        owners = {}
        for t in running:
            for b in t:
                owners[b.block_id] = owners.get(b.block_id, 0) + 1
        assert all(b.ref_cnt == owners.get(b.block_id, 0) for b in pool.blocks[1:])
