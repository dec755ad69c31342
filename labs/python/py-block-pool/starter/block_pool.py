"""A block pool with reference counts, an O(1) free queue and copy-on-write.

Implement the methods marked TODO. README.md explains each one; the tests
check every invariant listed there.
"""
from collections.abc import Iterable, Iterator


class OutOfBlocks(Exception):
    """Raised when an allocation asks for more blocks than are free."""


class Block:
    __slots__ = ("block_id", "is_null", "next_free", "prev_free", "ref_cnt")

    def __init__(self, block_id: int):
        self.block_id = block_id
        self.ref_cnt = 0
        # Links of the free queue; both None while the block is not in it.
        self.prev_free: Block | None = None
        self.next_free: Block | None = None
        self.is_null = False

    def __repr__(self) -> str:
        return f"Block({self.block_id}, ref_cnt={self.ref_cnt})"


class FreeBlockQueue:
    """Doubly linked list of free blocks threaded through Block.prev_free /
    Block.next_free. Every operation is O(1) except iteration."""

    def __init__(self, blocks: list[Block]):
        """Start with `blocks` in the given order (front = first)."""
        # TODO
        raise NotImplementedError("FreeBlockQueue.__init__")

    def __len__(self) -> int:
        # TODO
        raise NotImplementedError("FreeBlockQueue.__len__")

    def __iter__(self) -> Iterator[Block]:
        """Blocks from front to back."""
        # TODO
        raise NotImplementedError("FreeBlockQueue.__iter__")

    def append(self, block: Block) -> None:
        """Add at the back. ValueError if the block is already queued."""
        # TODO
        raise NotImplementedError("FreeBlockQueue.append")

    def appendleft(self, block: Block) -> None:
        """Add at the front. ValueError if the block is already queued."""
        # TODO
        raise NotImplementedError("FreeBlockQueue.appendleft")

    def remove(self, block: Block) -> None:
        """Unlink a block from anywhere in the queue. ValueError if it is not queued."""
        # TODO
        raise NotImplementedError("FreeBlockQueue.remove")

    def popleft(self) -> Block:
        """Remove and return the front block. IndexError if empty."""
        # TODO
        raise NotImplementedError("FreeBlockQueue.popleft")


class BlockPool:
    def __init__(self, num_blocks: int):
        """Create blocks 0..num_blocks-1, all free, in id order; then take block 0
        off the front as self.null_block (is_null = True, never handed out).
        ValueError unless num_blocks is an int >= 2.
        Attributes the tests read: num_blocks, blocks, free_queue, null_block."""
        # TODO
        raise NotImplementedError("BlockPool.__init__")

    @property
    def num_free_blocks(self) -> int:
        # TODO
        raise NotImplementedError("BlockPool.num_free_blocks")

    def allocate(self, n: int) -> list[Block]:
        """Pop n blocks from the front of the free queue, each with ref_cnt 1.
        All or nothing: OutOfBlocks if fewer than n are free. ValueError if n < 0."""
        # TODO
        raise NotImplementedError("BlockPool.allocate")

    def free(self, blocks: Iterable[Block]) -> None:
        """Drop one reference per listed block (skip the null block). Blocks that
        reach 0 go to the FRONT of the free queue, the first listed at the very
        front. ValueError (and no change at all) if a block would go below 0."""
        # TODO
        raise NotImplementedError("BlockPool.free")

    def fork(self, table: list[Block]) -> list[Block]:
        """A new table sharing every block of `table`: each ref_cnt goes up by one."""
        # TODO
        raise NotImplementedError("BlockPool.fork")

    def copy_on_write(self, table: list[Block]) -> tuple[int, int] | None:
        """Call before writing into table[-1]. If it is shared (ref_cnt > 1),
        replace it in `table` by a fresh block, drop one reference to the old one
        and return (old_id, new_id): the copy the GPU must perform. Otherwise None.
        ValueError for an empty table."""
        # TODO
        raise NotImplementedError("BlockPool.copy_on_write")
