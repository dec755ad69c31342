"""Tests for py-block-pool: the queue, the pool, copy-on-write, and a state machine."""
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tui.core.labs.testing import examples, load_lab_module


@pytest.fixture
def bp(lab_dir):
    return load_lab_module(lab_dir, "block_pool.py")


def ids(blocks):
    return [b.block_id for b in blocks]


# ---- the free queue -------------------------------------------------------

def test_queue_keeps_order_and_length(bp):
    blocks = [bp.Block(i) for i in range(5)]
    q = bp.FreeBlockQueue(blocks)
    assert len(q) == 5
    assert ids(q) == [0, 1, 2, 3, 4]
    assert q.popleft() is blocks[0]
    assert len(q) == 4 and ids(q) == [1, 2, 3, 4]


def test_queue_remove_from_middle_and_ends(bp):
    blocks = [bp.Block(i) for i in range(5)]
    q = bp.FreeBlockQueue(blocks)
    q.remove(blocks[2])
    assert ids(q) == [0, 1, 3, 4]
    q.remove(blocks[0])
    q.remove(blocks[4])
    assert ids(q) == [1, 3] and len(q) == 2
    q.append(blocks[2])
    q.appendleft(blocks[0])
    assert ids(q) == [0, 1, 3, 2]


def test_queue_rejects_misuse(bp):
    blocks = [bp.Block(i) for i in range(2)]
    q = bp.FreeBlockQueue(blocks)
    with pytest.raises(ValueError):
        q.append(blocks[0])  # already queued
    with pytest.raises(ValueError):
        q.appendleft(blocks[1])
    q.remove(blocks[0])
    with pytest.raises(ValueError):
        q.remove(blocks[0])  # not queued any more
    q.popleft()
    with pytest.raises(IndexError):
        q.popleft()
    assert len(q) == 0 and list(q) == []


def test_queue_empty_then_refill(bp):
    q = bp.FreeBlockQueue([])
    assert len(q) == 0
    b = bp.Block(7)
    q.appendleft(b)
    assert ids(q) == [7] and q.popleft() is b and len(q) == 0


# ---- the pool -------------------------------------------------------------

def test_block_zero_is_the_null_block(bp):
    pool = bp.BlockPool(4)
    assert pool.null_block is pool.blocks[0] and pool.null_block.is_null
    assert pool.num_free_blocks == 3
    got = pool.allocate(3)
    assert ids(got) == [1, 2, 3]
    assert all(b.ref_cnt == 1 for b in got)
    assert pool.null_block not in got


@pytest.mark.parametrize("n", [0, 1, -3, 2.0])
def test_pool_size_validated(bp, n):
    with pytest.raises(ValueError):
        bp.BlockPool(n)


def test_allocate_is_all_or_nothing(bp):
    pool = bp.BlockPool(5)  # 4 usable
    pool.allocate(3)
    with pytest.raises(bp.OutOfBlocks):
        pool.allocate(2)
    assert pool.num_free_blocks == 1  # nothing was taken by the failed call
    assert pool.allocate(0) == []
    with pytest.raises(ValueError):
        pool.allocate(-1)


def test_free_returns_blocks_lifo_in_given_order(bp):
    pool = bp.BlockPool(8)
    a = pool.allocate(3)  # 1, 2, 3
    pool.free(list(reversed(a)))  # a request frees its tail first
    assert pool.num_free_blocks == 7
    assert ids(pool.free_queue)[:3] == [3, 2, 1]
    assert ids(pool.allocate(1)) == [3]


def test_free_skips_the_null_block(bp):
    pool = bp.BlockPool(3)
    pool.free([pool.null_block])
    assert pool.num_free_blocks == 2
    assert pool.null_block not in list(pool.free_queue)


def test_double_free_raises_and_changes_nothing(bp):
    pool = bp.BlockPool(4)
    a, b = pool.allocate(2)
    pool.free([a])
    with pytest.raises(ValueError):
        pool.free([a])
    with pytest.raises(ValueError):
        pool.free([b, b])  # b has one reference, freed twice in one call
    assert b.ref_cnt == 1 and a.ref_cnt == 0
    assert pool.num_free_blocks == 2


def test_fork_shares_blocks(bp):
    pool = bp.BlockPool(8)
    parent = pool.allocate(3)
    child = pool.fork(parent)
    assert child == parent and child is not parent
    assert [b.ref_cnt for b in parent] == [2, 2, 2]
    assert pool.num_free_blocks == 4  # forking costs no memory
    pool.free(parent)
    assert [b.ref_cnt for b in child] == [1, 1, 1]
    assert pool.num_free_blocks == 4  # the child still holds them
    pool.free(child)
    assert pool.num_free_blocks == 7


def test_copy_on_write_copies_only_shared_last_block(bp):
    pool = bp.BlockPool(8)
    parent = pool.allocate(2)  # 1, 2
    child = pool.fork(parent)
    copy = pool.copy_on_write(child)
    assert copy == (2, 3)
    assert ids(child) == [1, 3] and ids(parent) == [1, 2]
    assert parent[1].ref_cnt == 1 and child[1].ref_cnt == 1 and parent[0].ref_cnt == 2
    # Now private: a second write copies nothing.
    assert pool.copy_on_write(child) is None
    assert pool.copy_on_write(parent) is None
    assert ids(child) == [1, 3]


def test_copy_on_write_without_memory_leaves_table_alone(bp):
    pool = bp.BlockPool(3)  # 2 usable
    parent = pool.allocate(2)
    child = pool.fork(parent)
    with pytest.raises(bp.OutOfBlocks):
        pool.copy_on_write(child)
    assert ids(child) == [1, 2] and parent[1].ref_cnt == 2


def test_copy_on_write_empty_table(bp):
    with pytest.raises(ValueError):
        bp.BlockPool(3).copy_on_write([])


# ---- randomized operations: the invariants hold after every step ----------

def test_state_machine_invariants(bp):
    NUM_BLOCKS = 12

    class PoolMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.pool = bp.BlockPool(NUM_BLOCKS)
            self.tables: list[list] = []  # live block tables; a model of who owns what

        @rule(n=st.integers(0, 5))
        def new_sequence(self, n):
            if n > self.pool.num_free_blocks:
                with pytest.raises(bp.OutOfBlocks):
                    self.pool.allocate(n)
            else:
                self.tables.append(self.pool.allocate(n))

        @precondition(lambda self: self.tables)
        @rule(i=st.integers(0, 99))
        def grow(self, i):
            table = self.tables[i % len(self.tables)]
            if self.pool.num_free_blocks:
                table.extend(self.pool.allocate(1))

        @precondition(lambda self: self.tables)
        @rule(i=st.integers(0, 99))
        def fork(self, i):
            self.tables.append(self.pool.fork(self.tables[i % len(self.tables)]))

        @precondition(lambda self: self.tables)
        @rule(i=st.integers(0, 99))
        def write_last(self, i):
            table = self.tables[i % len(self.tables)]
            if not table:
                return
            shared = table[-1].ref_cnt > 1
            if shared and self.pool.num_free_blocks == 0:
                with pytest.raises(bp.OutOfBlocks):
                    self.pool.copy_on_write(table)
                return
            result = self.pool.copy_on_write(table)
            assert (result is not None) == shared
            assert table[-1].ref_cnt == 1

        @precondition(lambda self: self.tables)
        @rule(i=st.integers(0, 99))
        def finish(self, i):
            table = self.tables.pop(i % len(self.tables))
            self.pool.free(list(reversed(table)))

        @invariant()
        def ref_counts_match_owners(self):
            owners = {}
            for table in self.tables:
                for block in table:
                    owners[block.block_id] = owners.get(block.block_id, 0) + 1
            for block in self.pool.blocks[1:]:
                assert block.ref_cnt >= 0
                assert block.ref_cnt == owners.get(block.block_id, 0), block

        @invariant()
        def free_queue_is_exactly_the_unowned_blocks(self):
            queued = ids(self.pool.free_queue)
            assert len(queued) == len(set(queued)) == self.pool.num_free_blocks
            assert 0 not in queued
            unowned = {b.block_id for b in self.pool.blocks[1:] if b.ref_cnt == 0}
            assert set(queued) == unowned
            used = sum(1 for b in self.pool.blocks[1:] if b.ref_cnt > 0)
            assert self.pool.num_free_blocks + used == NUM_BLOCKS - 1

        @invariant()
        def null_block_untouched(self):
            assert self.pool.null_block.block_id == 0 and self.pool.null_block.is_null
            assert all(b.block_id != 0 for t in self.tables for b in t)

    run_state_machine_as_test(
        PoolMachine,
        settings=settings(
            max_examples=examples(60),
            stateful_step_count=40,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
            phases=[Phase.explicit, Phase.generate],  # no shrinking: fail fast inside the time limit
        ),
    )
