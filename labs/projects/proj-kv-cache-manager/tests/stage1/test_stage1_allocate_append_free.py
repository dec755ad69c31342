"""Stage 1: block tables grow with tokens and come back on free."""
import random

import pytest

from tui.core.labs.testing import load_lab_module


@pytest.fixture
def km(lab_dir):
    return load_lab_module(lab_dir, "kv_cache_manager.py")


def distinct(start, n):
    """Token ids no other call shares, so no prefix can hit in this stage."""
    return list(range(start * 10_000, start * 10_000 + n))


def test_null_block_is_reserved(km):
    m = km.KVCacheManager(8, 4)
    assert m.num_free_blocks == 7
    m.allocate("a", distinct(1, 28))  # all 7 usable blocks
    assert 0 not in m.block_ids("a") and sorted(m.block_ids("a")) == list(range(1, 8))


@pytest.mark.parametrize("bad", [(1, 4), (8, 0)])
def test_invalid_sizes(km, bad):
    with pytest.raises(ValueError):
        km.KVCacheManager(*bad)


def test_allocate_rounds_up_to_blocks(km):
    m = km.KVCacheManager(16, 4)
    assert m.allocate("a", distinct(1, 10)) == 0  # nothing cached yet
    assert len(m.block_ids("a")) == 3
    m.allocate("b", distinct(2, 4))
    assert len(m.block_ids("b")) == 1
    assert set(m.block_ids("a")).isdisjoint(m.block_ids("b"))
    assert m.num_free_blocks == 15 - 4
    assert all(m.ref_count(b) == 1 for b in m.block_ids("a") + m.block_ids("b"))


def test_append_grows_only_when_a_block_fills(km):
    m = km.KVCacheManager(16, 4)
    m.allocate("a", distinct(1, 6))  # 2 blocks, 2 free slots in the second
    table = m.block_ids("a")
    m.append_tokens("a", [1])
    m.append_tokens("a", [2])
    assert m.block_ids("a") == table  # 8 tokens: still 2 blocks
    m.append_tokens("a", [3])
    assert len(m.block_ids("a")) == 3 and m.block_ids("a")[:2] == table  # tables are append-only
    m.append_tokens("a", list(range(100, 109)))  # 18 tokens -> 5 blocks
    assert len(m.block_ids("a")) == 5
    m.append_tokens("a", [])
    assert len(m.block_ids("a")) == 5
    assert m.num_free_blocks == 15 - 5


def test_free_returns_every_block(km):
    m = km.KVCacheManager(10, 4)
    m.allocate("a", distinct(1, 9))
    m.allocate("b", distinct(2, 5))
    m.free("a")
    assert m.num_free_blocks == 9 - 2
    m.free("b")
    assert m.num_free_blocks == 9
    with pytest.raises(KeyError):
        m.block_ids("a")
    # The memory is really reusable: one request can now take all of it.
    m.allocate("c", distinct(3, 36))
    assert m.num_free_blocks == 0


def test_request_id_errors(km):
    m = km.KVCacheManager(10, 4)
    m.allocate("a", distinct(1, 3))
    with pytest.raises(ValueError):
        m.allocate("a", distinct(2, 3))
    with pytest.raises(ValueError):
        m.allocate("empty", [])
    for call in (lambda: m.append_tokens("nope", [1]), lambda: m.free("nope"), lambda: m.block_ids("nope")):
        with pytest.raises(KeyError):
            call()
    m.free("a")
    with pytest.raises(KeyError):
        m.free("a")  # double free


def test_out_of_blocks_changes_nothing(km):
    m = km.KVCacheManager(5, 4)  # 4 usable
    m.allocate("a", distinct(1, 12))  # 3 blocks
    with pytest.raises(km.NoFreeBlocksError):
        m.allocate("b", distinct(2, 5))  # needs 2
    assert m.num_free_blocks == 1
    with pytest.raises(KeyError):
        m.block_ids("b")  # no half-created request
    with pytest.raises(km.NoFreeBlocksError):
        m.append_tokens("a", list(range(9)))  # 21 tokens -> 6 blocks
    assert len(m.block_ids("a")) == 3 and m.num_free_blocks == 1
    m.append_tokens("a", list(range(4)))  # 16 tokens -> 4 blocks: fits, so nothing was appended before
    assert len(m.block_ids("a")) == 4 and m.num_free_blocks == 0
    assert issubclass(km.NoFreeBlocksError, Exception)


def test_random_operations_keep_the_books(km):
    rng = random.Random(1234)
    bs, total = 4, 24
    m = km.KVCacheManager(total, bs)
    lengths = {}
    next_id = 0
    for _ in range(400):
        op = rng.random()
        if op < 0.35 or not lengths:
            rid, n = f"r{next_id}", rng.randint(1, 20)
            next_id += 1
            try:
                m.allocate(rid, distinct(next_id, n))
                lengths[rid] = n
            except km.NoFreeBlocksError:
                assert -(-n // bs) > m.num_free_blocks
        elif op < 0.8:
            rid = rng.choice(sorted(lengths))
            k = rng.randint(0, 6)
            try:
                m.append_tokens(rid, [7] * k)
                lengths[rid] += k
            except km.NoFreeBlocksError:
                assert -(-(lengths[rid] + k) // bs) - len(m.block_ids(rid)) > m.num_free_blocks
        else:
            rid = rng.choice(sorted(lengths))
            m.free(rid)
            del lengths[rid]
        used = [b for rid in lengths for b in m.block_ids(rid)]
        assert len(used) == len(set(used))  # no block in two tables (no sharing in this stage)
        assert 0 not in used
        assert all(len(m.block_ids(rid)) == -(-n // bs) for rid, n in lengths.items())
        assert m.num_free_blocks + len(used) == total - 1
