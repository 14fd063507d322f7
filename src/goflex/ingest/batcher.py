"""The bounded buffer between the MQTT loop and the database writer.

The MQTT loop appends one entry per received message; the writer takes batches of up to ``batch_max`` rows
when enough rows are waiting or when the oldest entry has waited ``flush_interval_s``. A batch that fails
(the database is down, reliability.md R6) goes back to the front, so order is kept and nothing is lost while it
fits. The buffer is bounded by ``max_pending`` rows: beyond it a new entry is refused and counted (the caller
drops it *unacknowledged*, so a goflex gateway's outbox re-sends it later).

No I/O: the service awaits :meth:`Batcher.wait_ready` and does the writing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Pending(Generic[T]):
    """One received message waiting to be written: its content, its size [rows], when it arrived [s]."""

    entry: T
    rows: int
    arrived: float


class Batcher(Generic[T]):
    """A FIFO of pending entries, bounded in rows, released in batches by size or age.

    Args:
        monotonic: a clock that never goes backwards [s].
        batch_max: rows per batch (a single larger entry still forms a batch on its own).
        flush_interval_s: longest time the oldest entry waits before a batch is released [s].
        max_pending: rows kept at most (waiting plus in flight).
    """

    def __init__(
        self,
        monotonic: Callable[[], float],
        *,
        batch_max: int = 5000,
        flush_interval_s: float = 0.2,
        max_pending: int = 100_000,
    ) -> None:
        self._monotonic = monotonic
        self.batch_max = batch_max
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        self._queue: deque[Pending[T]] = deque()
        self._rows = 0
        self._in_flight = 0
        self._wakeup = asyncio.Event()
        self.dropped_rows = 0

    @property
    def pending_rows(self) -> int:
        """Rows waiting or being written."""
        return self._rows + self._in_flight

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, entry: T, rows: int) -> bool:
        """Append an entry of ``rows`` rows; False (and counted) if the buffer is full."""
        if self.pending_rows + rows > self.max_pending and self.pending_rows > 0:
            self.dropped_rows += rows
            return False
        self._queue.append(Pending(entry, rows, self._monotonic()))
        self._rows += rows
        if self._rows >= self.batch_max:
            self._wakeup.set()
        return True

    def ready(self) -> bool:
        """True if a batch should be written now (enough rows, or the oldest waited long enough)."""
        if not self._queue:
            return False
        return self._rows >= self.batch_max or self._monotonic() - self._queue[0].arrived >= self.flush_interval_s

    async def wait_ready(self) -> None:
        """Return when :meth:`ready` is true (polled at a fraction of the flush interval, woken early by size)."""
        while not self.ready():
            self._wakeup.clear()
            wait = self.flush_interval_s
            if self._queue:
                wait = max(0.0, self.flush_interval_s - (self._monotonic() - self._queue[0].arrived))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=max(wait, 0.001))

    def take(self) -> list[Pending[T]]:
        """Remove and return the next batch (at least one entry if any); it is *in flight* until settled."""
        batch: list[Pending[T]] = []
        rows = 0
        while self._queue and (not batch or rows + self._queue[0].rows <= self.batch_max):
            item = self._queue.popleft()
            batch.append(item)
            rows += item.rows
        self._rows -= rows
        self._in_flight += rows
        return batch

    def done(self, batch: list[Pending[T]]) -> None:
        """The batch was committed: release its rows."""
        self._in_flight -= sum(p.rows for p in batch)

    def retry(self, batch: list[Pending[T]]) -> None:
        """The batch failed: put it back in front, in order, to be taken again."""
        rows = sum(p.rows for p in batch)
        self._in_flight -= rows
        self._rows += rows
        self._queue.extendleft(reversed(batch))
