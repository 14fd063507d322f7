from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import pytest

from goflex.common import RealClock, SimClock

START = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)


def test_frozen_sim_clock_moves_only_when_advanced() -> None:
    clock = SimClock(START, speed=0)
    assert clock.now() == START
    clock.advance(900)
    assert clock.time() == START.timestamp() + 900
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_accelerated_clock_runs_speed_times_faster() -> None:
    real = [100.0]
    clock = SimClock(START, speed=60, real_monotonic=lambda: real[0])
    real[0] += 2.0
    assert clock.time() == pytest.approx(START.timestamp() + 120)


async def test_sleepers_wake_when_advanced_past_deadline() -> None:
    clock = SimClock(START, speed=0)
    woke: list[float] = []

    async def sleeper(delay: float) -> None:
        await clock.sleep(delay)
        woke.append(delay)

    tasks = [asyncio.create_task(sleeper(d)) for d in (30, 10, 20)]
    await asyncio.sleep(0.05)
    assert woke == []
    clock.advance(15)
    await asyncio.sleep(0.05)
    assert woke == [10]
    clock.advance(20)
    await asyncio.gather(*tasks)
    assert sorted(woke) == [10, 20, 30]


async def test_accelerated_sleep_takes_real_time_divided_by_speed() -> None:
    clock = SimClock(START, speed=1000)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await clock.sleep(50)  # 50 simulated seconds = 0.05 real seconds
    assert 0.03 < loop.time() - t0 < 1.0
    assert clock.time() >= START.timestamp() + 50


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        SimClock(datetime(2026, 1, 1), speed=1)  # noqa: DTZ001


def test_real_clock_is_utc() -> None:
    assert RealClock().now().tzinfo is UTC


async def test_cancelled_and_finished_sleepers_leave_no_trace() -> None:
    clock = SimClock(START, speed=1000)
    tasks = [asyncio.create_task(clock.sleep(3600)) for _ in range(50)]
    await asyncio.sleep(0.01)
    assert clock.pending_sleepers == 50
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await clock.sleep(5)
    assert clock.pending_sleepers == 0


async def test_a_long_simulation_does_not_pile_up_finished_sleepers() -> None:
    # A fleet's tasks sleep and wake millions of times: finished sleepers must not accumulate in the heap.
    clock = SimClock(START, speed=100_000)
    for _ in range(20):
        await asyncio.gather(*(clock.sleep(0.5) for _ in range(100)))
    assert clock.pending_sleepers == 0
    assert len(clock._sleepers) <= 2 * 100  # compacted, not 2,000 entries
    waiting = asyncio.create_task(clock.sleep(3600))
    await asyncio.sleep(0.01)
    assert clock.pending_sleepers == 1
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    assert clock.pending_sleepers == 0
