"""The demo's "operator" waits until the API knows its house before the first relay command (issue 4, fix 4).

At x600 the operator's first ``PUT`` came before the house had announced itself, and the API answered 404. The
API is a small double under a real uvicorn: it knows the house only after a few polls (the gateway's ``@online``
arriving late) and records every ``PUT`` with the status it answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from goflex.common import SimClock
from goflex.demo.runner import operator
from tests.integration.mosquitto import free_port

HOUSE = "goflex-dc-001"


@dataclass
class LateApi:
    """``/data``: 404 for the house until ``announce_after`` GETs have been answered."""

    announce_after: int = 3
    gets: int = 0
    puts: list[tuple[str, int]] = field(default_factory=list)

    @property
    def announced(self) -> bool:
        return self.gets > self.announce_after

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/data/{path:path}", response_model=None)
        async def get(path: str) -> JSONResponse:
            self.gets += 1
            status = 200 if self.announced else 404
            return JSONResponse({"path": path}, status_code=status)

        @app.put("/data/{path:path}", response_model=None)
        async def put(path: str, value: str) -> JSONResponse:
            status = 202 if self.announced else 404
            self.puts.append((value, status))
            return JSONResponse({"value": value}, status_code=status)

        return app


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_the_operator_waits_for_the_house_before_its_first_command() -> None:
    api = LateApi()
    clock = SimClock(datetime(2026, 1, 22, 4, 0, tzinfo=UTC), speed=0)
    async with served(api.app()) as url:
        task = asyncio.create_task(operator(url, "secret", HOUSE, 1, clock))
        try:
            deadline = time.monotonic() + 20
            while not api.puts:
                assert time.monotonic() < deadline, "the operator never sent its command"
                while clock.pending_sleepers < 1:  # the operator sleeps on the clock between steps
                    assert not task.done(), task
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.002)
                clock.advance(10.0)
                await asyncio.sleep(0.01)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert api.gets > api.announce_after, "it polled the API until the house was there"
    assert api.puts[0] == ("false", 202), "the first command reaches a known house: no 404"
