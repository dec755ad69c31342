"""Stage 3: memory pressure. Evict LRU cached blocks; fail cleanly when nothing can go."""
import pytest

from tui.core.labs.testing import load_lab_module

BS = 4


@pytest.fixture
def km(lab_dir):
    return load_lab_module(lab_dir, "kv_cache_manager.py")


def prompt(tag, n):
    return [tag * 1000 + i for i in range(n)]


def test_plain_blocks_are_reused_before_cached_ones(km):
    m = km.KVCacheManager(7, BS)  # 6 usable
    m.allocate("a", prompt(1, 10))  # 2 cached blocks + 1 partial
    m.free("a")
    assert m.num_evictable_blocks == 2
    m.allocate("x", prompt(2, 16))  # 4 blocks: a's partial block + 3 never used; no eviction
    assert m.num_evictable_blocks == 2
    m.free("x")
    assert m.allocate("again", prompt(1, 9)) == 8  # a's blocks still hit


def test_lru_eviction_order(km):
    m = km.KVCacheManager(7, BS)  # 6 usable
    m.allocate("a", prompt(1, 8))
    a = m.block_ids("a")
    m.free("a")  # queue: 4 plain, then a's tail, a's head
    m.allocate("b", prompt(2, 8))
    b = m.block_ids("b")
    m.free("b")  # queue: 2 plain, a1, a0, b1, b0
    assert set(a).isdisjoint(b)
    assert m.num_evictable_blocks == 4 and m.num_free_blocks == 6
    m.allocate("x", prompt(3, 12))  # 3 blocks: the 2 plain ones, then a's TAIL is evicted
    x = m.block_ids("x")
    assert a[1] in x and a[0] not in x and set(b).isdisjoint(x)
    assert m.num_evictable_blocks == 3
    m.free("x")  # queue: a0, b1, b0, then x's blocks
    assert m.allocate("a2", prompt(1, 4) + [0]) == 4  # a's head survived; its 1 new block evicts b1
    assert m.allocate("b2", prompt(2, 8) + [0]) == 4  # so b hits only its head block


def test_a_hit_refreshes_recency(km):
    m = km.KVCacheManager(6, BS)  # 5 usable
    m.allocate("a", prompt(1, 4) + [0])
    m.free("a")
    m.allocate("b", prompt(2, 4) + [0])
    m.free("b")
    m.allocate("a2", prompt(1, 4) + [5])  # reuse a's block: a is now the most recent
    m.free("a2")
    m.allocate("x", prompt(3, 4 * 4))  # 4 blocks: plain ones first, then evicts b (the LRU)
    m.free("x")
    assert m.allocate("a3", prompt(1, 4) + [9]) == 4
    assert m.allocate("b3", prompt(2, 4) + [9]) == 0


def test_appends_evict_too(km):
    m = km.KVCacheManager(5, BS)  # 4 usable
    m.allocate("old", prompt(1, 8))
    m.free("old")  # 2 evictable
    m.allocate("r", prompt(2, 8))  # takes the 2 plain blocks
    m.append_tokens("r", [1] * 8)  # needs 2 more: both evictions
    assert m.num_free_blocks == 0 and m.num_evictable_blocks == 0
    assert len(m.block_ids("r")) == 4


def test_out_of_memory_is_a_clear_error_and_changes_nothing(km):
    m = km.KVCacheManager(7, BS)  # 6 usable
    m.allocate("cached", prompt(1, 8))
    m.free("cached")  # 2 evictable blocks
    m.allocate("running", prompt(2, 16))  # 4 blocks held
    assert m.num_free_blocks == 2 and m.num_evictable_blocks == 2
    # 17 tokens = 5 blocks; 2 hit the cached blocks, but touching them takes them out
    # of the free queue: 3 new blocks are needed and 0 remain.
    with pytest.raises(km.NoFreeBlocksError) as err:
        m.allocate("big", prompt(1, 8) + prompt(3, 9))
    message = str(err.value)
    assert "3" in message and "2" in message  # says what was needed and what there was
    assert m.num_free_blocks == 2 and m.num_evictable_blocks == 2  # untouched
    with pytest.raises(KeyError):
        m.block_ids("big")
    assert all(m.ref_count(b) == 0 for b in range(1, 7) if b not in m.block_ids("running"))
    # The cache survived the failed call: once memory frees up, the prefix still hits.
    m.free("running")
    assert m.allocate("later", prompt(1, 8) + [0]) == 8


def test_failed_allocation_keeps_hits_evictable(km):
    m = km.KVCacheManager(6, BS)  # 5 usable
    m.allocate("cached", prompt(1, 8))
    m.free("cached")
    m.allocate("running", prompt(2, 12))  # 3 blocks held, 2 free (both cached)
    with pytest.raises(km.NoFreeBlocksError):
        m.allocate("big", prompt(1, 8) + [0])  # 2 hits + 1 new block: none left
    assert m.num_free_blocks == 2 and m.num_evictable_blocks == 2
    m.free("running")
    assert m.allocate("retry", prompt(1, 8) + [0]) == 8  # hashes were not dropped


def test_nothing_evictable_everything_running(km):
    m = km.KVCacheManager(4, BS)  # 3 usable
    m.allocate("a", prompt(1, 12))
    assert m.num_free_blocks == 0 and m.num_evictable_blocks == 0
    with pytest.raises(km.NoFreeBlocksError):
        m.allocate("b", [1])
    with pytest.raises(km.NoFreeBlocksError):
        m.append_tokens("a", [1])
    assert len(m.block_ids("a")) == 3


def test_hit_at_the_front_of_the_free_queue_is_not_handed_out_twice(km):
    m = km.KVCacheManager(5, BS)  # 4 usable
    m.allocate("a", prompt(1, 8))
    a = m.block_ids("a")
    m.free("a")  # a's blocks go behind the 2 never-used ones
    m.allocate("b", [7] * 8)
    m.free("b")  # queue now starts with a's tail block, then a's head, then b's
    assert m.allocate("c", prompt(1, 8) + [0]) == 8
    c = m.block_ids("c")
    assert c[:2] == a and len(set(c)) == 3  # the new block is not one of the hits
    assert [m.ref_count(x) for x in c] == [1, 1, 1]


def test_random_pressure_never_serves_wrong_kv(km):
    import random

    rng = random.Random(7)
    total = 14
    m = km.KVCacheManager(total, BS)
    prefixes = [prompt(1, 8), prompt(1, 4) + prompt(2, 4), prompt(3, 6)]
    content = {}  # block id -> tokens the model wrote into it
    live = {}  # request id -> its tokens

    def record(rid):
        toks = live[rid]
        for j, bid in enumerate(m.block_ids(rid)):
            content[bid] = tuple(toks[j * BS : (j + 1) * BS])

    hits_seen = 0
    for step in range(600):
        op = rng.random()
        if op < 0.4 or not live:
            rid = f"r{step}"
            toks = rng.choice(prefixes) + [rng.randint(0, 3) for _ in range(rng.randint(0, 9))]
            try:
                served = m.allocate(rid, toks)
            except km.NoFreeBlocksError:
                continue
            assert served % BS == 0 and served <= len(toks) - 1
            for j, bid in enumerate(m.block_ids(rid)[: served // BS]):
                assert content[bid] == tuple(toks[j * BS : (j + 1) * BS]), "a hit served another prefix's KV"
            hits_seen += served > 0
            live[rid] = list(toks)
            record(rid)
        elif op < 0.7:
            rid = rng.choice(sorted(live))
            new = [rng.randint(0, 3) for _ in range(rng.randint(1, 5))]
            try:
                m.append_tokens(rid, new)
            except km.NoFreeBlocksError:
                continue
            live[rid] += new
            record(rid)
        else:
            rid = rng.choice(sorted(live))
            m.free(rid)
            del live[rid]
        owners = {}
        for rid in live:
            table = m.block_ids(rid)
            assert len(table) == len(set(table)) == -(-len(live[rid]) // BS)
            for bid in table:
                owners[bid] = owners.get(bid, 0) + 1
        assert 0 not in owners
        assert all(m.ref_count(b) == owners.get(b, 0) for b in range(1, total))
        assert m.num_free_blocks == total - 1 - len(owners)
        assert 0 <= m.num_evictable_blocks <= m.num_free_blocks
    assert hits_seen > 20  # the run really exercised sharing
