"""Bounded shutdown stages (goflex.runtime.tasks)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from goflex.runtime.tasks import bounded, pending_tasks


async def test_a_stage_in_time_returns_true_and_raises_its_error() -> None:
    assert await bounded("quick", asyncio.sleep(0.01), 1.0) is True

    async def broken() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await bounded("broken", broken(), 1.0)


async def test_a_hung_stage_is_cut_and_the_log_names_where_it_hung(caplog: pytest.LogCaptureFixture) -> None:
    forever = asyncio.Event()

    async def hangs_in_here() -> None:
        await forever.wait()

    task = asyncio.create_task(hangs_in_here(), name="stuck-stage")
    with caplog.at_level(logging.ERROR, logger="goflex.runtime.tasks"):
        assert await bounded("the stuck stage", task, 0.05) is False
    assert task.cancelled()
    (record,) = caplog.records
    assert "the stuck stage did not finish within 0 s" in record.getMessage()
    assert "task stuck-stage" in record.getMessage()
    assert "hangs_in_here" in record.getMessage()


async def test_pending_tasks_leaves_out_the_caller() -> None:
    sleeper = asyncio.create_task(asyncio.sleep(10), name="sleeper")
    await asyncio.sleep(0)
    text = pending_tasks()
    sleeper.cancel()
    assert "task sleeper" in text
    assert "test_pending_tasks_leaves_out_the_caller" not in text
