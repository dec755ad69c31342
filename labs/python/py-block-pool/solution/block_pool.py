"""A block pool with reference counts, an O(1) free queue and copy-on-write.

Reference solution. See README.md.
"""
from collections import Counter
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
    """Doubly linked list of free blocks threaded through the blocks themselves.

    Two sentinels that never leave the list remove every edge case: each real
    block in the queue always has a prev and a next.
    """

    def __init__(self, blocks: list[Block]):
        self._head = Block(-1)
        self._tail = Block(-1)
        self._head.next_free = self._tail
        self._tail.prev_free = self._head
        self._len = 0
        for block in blocks:
            self.append(block)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Block]:
        node = self._head.next_free
        while node is not self._tail:
            yield node
            node = node.next_free

    def _link(self, block: Block, before: Block) -> None:
        if block.prev_free is not None:
            raise ValueError(f"{block} is already in the free queue")
        prev = before.prev_free
        prev.next_free = block
        block.prev_free = prev
        block.next_free = before
        before.prev_free = block
        self._len += 1

    def append(self, block: Block) -> None:
        self._link(block, self._tail)

    def appendleft(self, block: Block) -> None:
        self._link(block, self._head.next_free)

    def remove(self, block: Block) -> None:
        prev, nxt = block.prev_free, block.next_free
        if prev is None or nxt is None:
            raise ValueError(f"{block} is not in the free queue")
        prev.next_free = nxt
        nxt.prev_free = prev
        block.prev_free = block.next_free = None
        self._len -= 1

    def popleft(self) -> Block:
        first = self._head.next_free
        if first is self._tail:
            raise IndexError("popleft from an empty free queue")
        self.remove(first)
        return first


class BlockPool:
    def __init__(self, num_blocks: int):
        if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 2:
            raise ValueError(f"num_blocks must be an int >= 2 (block 0 is reserved), got {num_blocks!r}")
        self.num_blocks = num_blocks
        self.blocks = [Block(i) for i in range(num_blocks)]
        self.free_queue = FreeBlockQueue(self.blocks)
        # Block 0 is a placeholder for padded block-table entries: never handed out.
        self.null_block = self.free_queue.popleft()
        self.null_block.is_null = True

    @property
    def num_free_blocks(self) -> int:
        return len(self.free_queue)

    def allocate(self, n: int) -> list[Block]:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"cannot allocate {n!r} blocks")
        if n > len(self.free_queue):
            raise OutOfBlocks(f"asked for {n} blocks, {len(self.free_queue)} free")
        out = [self.free_queue.popleft() for _ in range(n)]
        for block in out:
            block.ref_cnt = 1
        return out

    def free(self, blocks: Iterable[Block]) -> None:
        blocks = [b for b in blocks if not b.is_null]  # the null block is never pooled
        # Validate everything first so a bad call changes nothing.
        for block, times in Counter(blocks).items():
            if times > block.ref_cnt:
                raise ValueError(f"{block} freed {times} time(s) but has ref_cnt {block.ref_cnt}")
        released = []
        for block in blocks:
            block.ref_cnt -= 1
            if block.ref_cnt == 0:
                released.append(block)
        # Reuse freed blocks first (LIFO, warm in cache), keeping the given order.
        for block in reversed(released):
            self.free_queue.appendleft(block)

    def fork(self, table: list[Block]) -> list[Block]:
        for block in table:
            if block.ref_cnt <= 0 and not block.is_null:
                raise ValueError(f"cannot fork a table holding free {block}")
        for block in table:
            if not block.is_null:
                block.ref_cnt += 1
        return list(table)

    def copy_on_write(self, table: list[Block]) -> tuple[int, int] | None:
        if not table or table[-1].is_null:
            raise ValueError("copy_on_write needs a table whose last block is a real block")
        old = table[-1]
        if old.ref_cnt <= 1:
            return None
        new = self.allocate(1)[0]  # may raise OutOfBlocks; the table is untouched then
        old.ref_cnt -= 1  # still >= 1: the other owners keep it
        table[-1] = new
        return (old.block_id, new.block_id)
