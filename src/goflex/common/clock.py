"""One source of time for every service, real or simulated (DESIGN.md 4).

Services never call ``time.time()`` or ``datetime.now()`` themselves: they take a :class:`Clock`, so the whole
platform can run faster than real time in the digital twin, or step by step in a test.

* :class:`RealClock` is wall-clock time.
* :class:`SimClock` starts at a given instant and runs ``speed`` times faster than real time; with
  ``speed=0`` it stands still and only moves when :meth:`SimClock.advance` is called (a steppable clock for
  deterministic tests). Sleepers are woken when simulated time passes their deadline, whichever way it moves.

The clock is pure in the sense of DESIGN.md: it imports no network or database library. Waiting is done through
an injected *waiter* (``asyncio.sleep`` by default, looked up lazily) so that the module itself stays free of an
event-loop dependency.
"""

from __future__ import annotations

import heapq
import importlib
import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

Waiter = Callable[[float], Awaitable[None]]


def _default_waiter(seconds: float) -> Awaitable[None]:
    # Imported lazily: asyncio is an I/O framework, and the pure-core contract forbids importing it at module
    # level; a service that sleeps is by definition already running an event loop.
    aio = importlib.import_module("asyncio")
    result: Awaitable[None] = aio.sleep(seconds)
    return result


class Clock(Protocol):
    """What services need to know about time."""

    def time(self) -> float:
        """Current time as UNIX epoch seconds [s] (the cloud.iO wire unit)."""

    def now(self) -> datetime:
        """Current time as an aware UTC datetime."""

    def monotonic(self) -> float:
        """A clock that never goes backwards, for timeouts and rates [s]."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time [s]."""


class RealClock:
    """Wall-clock time."""

    def __init__(self, *, waiter: Waiter = _default_waiter) -> None:
        self._waiter = waiter

    def time(self) -> float:
        return time.time()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await self._waiter(max(0.0, seconds))


@dataclass(order=True)
class _Sleeper:
    deadline: float
    order: int
    woken: list[bool] = field(compare=False, default_factory=lambda: [False])


class SimClock:
    """Simulated time: accelerated (``speed`` > 0) or steppable (``speed`` == 0).

    Args:
        start: the simulated instant at creation, aware UTC.
        speed: simulated seconds per real second; 0 freezes time until :meth:`advance`.
        waiter: how to wait real seconds (``asyncio.sleep`` by default).
        real_monotonic: the real clock this one is derived from (injectable for tests).
    """

    _POLL_S = 0.01  # real seconds between checks of a frozen clock's sleepers

    def __init__(
        self,
        start: datetime,
        *,
        speed: float = 1.0,
        waiter: Waiter = _default_waiter,
        real_monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock start must be timezone-aware")
        if speed < 0:
            raise ValueError(f"SimClock speed must be >= 0, got {speed}")
        self._lock = threading.Lock()
        self._epoch = start.timestamp()
        self._offset = 0.0  # simulated seconds added by advance()
        self._speed = speed
        self._real = real_monotonic
        self._real0 = real_monotonic()
        self._waiter = waiter
        self._counter = itertools.count()
        self._sleepers: list[_Sleeper] = []
        self._stale = 0  # sleepers in the heap that are already done (lazy deletion)

    @property
    def speed(self) -> float:
        return self._speed

    def _elapsed(self) -> float:
        return (self._real() - self._real0) * self._speed + self._offset

    def time(self) -> float:
        with self._lock:
            return self._epoch + self._elapsed()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed()

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by ``seconds`` [s] and wake the sleepers now due."""
        if seconds < 0:
            raise ValueError("a clock never goes backwards")
        with self._lock:
            self._offset += seconds
            now = self._elapsed()
            while self._sleepers and self._sleepers[0].deadline <= now:
                popped = heapq.heappop(self._sleepers)
                if popped.woken[0]:
                    self._stale -= 1
                popped.woken[0] = True

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        with self._lock:
            sleeper = _Sleeper(self._elapsed() + seconds, next(self._counter))
            heapq.heappush(self._sleepers, sleeper)
        try:
            while not sleeper.woken[0]:
                with self._lock:
                    remaining = sleeper.deadline - self._elapsed()
                if remaining <= 0:
                    break
                if self._speed > 0:
                    await self._waiter(min(remaining / self._speed, 1.0))
                else:
                    await self._waiter(self._POLL_S)
        finally:
            # Woken by advance() = already popped; otherwise (deadline passed, or cancelled) it is marked done and
            # left in the heap: removing it there costs O(n) per sleep, which a fleet of a thousand sleeping
            # tasks pays millions of times. The heap is compacted when done entries make up half of it.
            if not sleeper.woken[0]:
                with self._lock:
                    sleeper.woken[0] = True
                    self._stale += 1
                    if self._stale > 32 and 2 * self._stale > len(self._sleepers):
                        self._sleepers = [s for s in self._sleepers if not s.woken[0]]
                        heapq.heapify(self._sleepers)
                        self._stale = 0

    @property
    def pending_sleepers(self) -> int:
        """Sleepers waiting for their deadline (for tests and leak checks)."""
        with self._lock:
            return len(self._sleepers) - self._stale
