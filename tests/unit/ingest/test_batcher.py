"""The pending buffer: batches by size or age, bounded, failed batches retried in order."""

from __future__ import annotations

import asyncio

from goflex.ingest.batcher import Batcher


class Tick:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_batch_is_released_by_size_or_by_age() -> None:
    tick = Tick()
    b: Batcher[str] = Batcher(tick, batch_max=3, flush_interval_s=0.2, max_pending=100)
    b.add("a", 1)
    assert not b.ready()
    tick.now = 0.2
    assert b.ready()
    b.add("b", 1)
    b.add("c", 1)
    b.add("d", 1)
    batch = b.take()
    assert [p.entry for p in batch] == ["a", "b", "c"]
    assert b.pending_rows == 4


def test_failed_batch_goes_back_in_front_in_order() -> None:
    b: Batcher[int] = Batcher(Tick(), batch_max=2, max_pending=100)
    for i in range(5):
        b.add(i, 1)
    first = b.take()
    b.retry(first)
    assert [p.entry for p in b.take()] == [0, 1]
    assert b.pending_rows == 5


def test_full_buffer_refuses_and_counts_the_newest() -> None:
    b: Batcher[int] = Batcher(Tick(), batch_max=10, max_pending=3)
    assert all(b.add(i, 1) for i in range(3))
    assert not b.add(99, 2)
    assert b.dropped_rows == 2
    batch = b.take()
    b.done(batch)
    assert b.pending_rows == 0
    assert b.add(100, 1)


async def test_wait_ready_wakes_on_size_before_the_interval() -> None:
    b: Batcher[int] = Batcher(asyncio.get_running_loop().time, batch_max=2, flush_interval_s=30)
    waiter = asyncio.create_task(b.wait_ready())
    await asyncio.sleep(0.01)
    b.add(1, 1)
    b.add(2, 1)
    await asyncio.wait_for(waiter, 1)
