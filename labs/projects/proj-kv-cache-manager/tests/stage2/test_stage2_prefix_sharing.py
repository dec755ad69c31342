"""Stage 2: requests share the cached blocks of a common prefix."""
import pytest

from tui.core.labs.testing import load_lab_module

BS = 4
SYSTEM = [11, 12, 13, 14, 15, 16, 17, 18]  # two full blocks of shared system prompt


@pytest.fixture
def km(lab_dir):
    return load_lab_module(lab_dir, "kv_cache_manager.py")


def test_hash_block_chains(km):
    h0 = km.hash_block(None, [1, 2, 3, 4])
    assert isinstance(h0, bytes) and len(h0) == 32
    assert h0 == km.hash_block(None, (1, 2, 3, 4))
    assert km.hash_block(h0, [5, 6, 7, 8]) != km.hash_block(None, [5, 6, 7, 8])


def test_shared_prefix_is_served_from_cache(km):
    m = km.KVCacheManager(16, BS)
    assert m.allocate("a", SYSTEM + [1, 2]) == 0
    assert m.allocate("b", SYSTEM + [3, 4, 5]) == 8
    a, b = m.block_ids("a"), m.block_ids("b")
    assert b[:2] == a[:2] and b[2] != a[2]
    assert [m.ref_count(x) for x in a] == [2, 2, 1]
    assert m.num_free_blocks == 15 - 4  # 3 for a, 1 new for b


def test_fully_cached_prompt_still_computes_its_last_token(km):
    m = km.KVCacheManager(16, BS)
    m.allocate("a", SYSTEM)
    assert m.allocate("b", SYSTEM) == 4  # (8 - 1) // 4 = 1 block
    assert m.block_ids("b")[0] == m.block_ids("a")[0]
    assert m.block_ids("b")[1] != m.block_ids("a")[1]
    assert m.allocate("c", SYSTEM + [0]) == 8


def test_partial_blocks_are_never_shared(km):
    m = km.KVCacheManager(16, BS)
    m.allocate("a", [1, 2, 3, 4, 5, 6])  # block 1 holds 2 tokens
    assert m.allocate("b", [1, 2, 3, 4, 5, 6, 7]) == 4
    assert m.block_ids("b")[1] != m.block_ids("a")[1]


def test_blocks_filled_by_appends_become_shareable(km):
    m = km.KVCacheManager(16, BS)
    m.allocate("a", [1, 2, 3, 4, 5, 6])
    m.append_tokens("a", [7, 8])  # block 1 is now full: it gets its hash
    assert m.allocate("b", [1, 2, 3, 4, 5, 6, 7, 8, 9]) == 8
    assert m.block_ids("b")[:2] == m.block_ids("a")[:2]


def test_hashes_chain_over_the_whole_prefix(km):
    m = km.KVCacheManager(16, BS)
    m.allocate("a", SYSTEM + [1])
    other = [99] + SYSTEM[1:] + [1]  # block 1's tokens match, block 0 does not
    assert m.allocate("b", other) == 0
    assert set(m.block_ids("a")).isdisjoint(m.block_ids("b"))


def test_a_block_is_found_only_after_its_own_prefix(km):
    m = km.KVCacheManager(16, BS)
    m.allocate("a", SYSTEM + [1])
    # b starts with a's SECOND block: same tokens, but its K/V were computed after SYSTEM[:4]
    assert m.allocate("b", SYSTEM[4:] + [1]) == 0
    assert m.block_ids("b")[0] != m.block_ids("a")[1]


def test_shared_blocks_outlive_one_owner(km):
    m = km.KVCacheManager(16, BS)
    m.allocate("a", SYSTEM + [1])
    m.allocate("b", SYSTEM + [2])
    shared = m.block_ids("a")[:2]
    free_before = m.num_free_blocks
    m.free("a")
    assert [m.ref_count(x) for x in shared] == [1, 1]
    assert m.num_free_blocks == free_before + 1  # only a's private last block came back
    m.free("b")
    assert [m.ref_count(x) for x in shared] == [0, 0]
    assert m.num_free_blocks == 15


def test_hit_on_a_finished_requests_blocks(km):
    m = km.KVCacheManager(16, BS)
    m.allocate("a", SYSTEM + [1])
    shared = m.block_ids("a")[:2]
    m.free("a")
    assert m.num_free_blocks == 15  # cached blocks stay in the free queue
    assert m.allocate("b", SYSTEM + [5, 6]) == 8
    assert m.block_ids("b")[:2] == shared
    assert [m.ref_count(x) for x in shared] == [1, 1]
    assert m.num_free_blocks == 15 - 3  # the two hits left the free queue, plus one new block


def test_many_requests_share_one_prefix(km):
    m = km.KVCacheManager(64, BS)
    m.allocate("r0", SYSTEM + [0])
    for i in range(1, 10):
        assert m.allocate(f"r{i}", SYSTEM + [i]) == 8
    assert m.ref_count(m.block_ids("r0")[0]) == 10
    assert m.num_free_blocks == 63 - 2 - 10  # 2 shared + 10 private tails

