"""Wiring of the live DOMS: the broker subscription, the 5-minute cycle and the state API (``goflex doms run``).

:func:`live_doms` is an async context manager used by the command and by ``goflex demo``: it connects DOMS's
application certificate (READ on the grid endpoint only: the broker denies everything else, seed 3.2.5.9),
subscribes to the grid endpoint's ``@update``, runs :class:`goflex.doms.live.DomsService` on the given clock and
serves :mod:`goflex.doms.live_api` on uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from goflex.cloudio.application import Application, Subscription
from goflex.common.clock import Clock
from goflex.doms.live import GRID_ENDPOINT, DomsService, DomsSettings
from goflex.doms.live_api import create_app, ensure_token
from goflex.doms.live_inputs import DayaheadSource, ScenarioReplay

log = logging.getLogger(__name__)
DOMS_IDENTITY = "doms"


@dataclass(frozen=True)
class LiveOptions:
    """Where the live DOMS reads, buys and answers.

    Attributes:
        broker_url: ``mqtts://host:port``.
        pki: directory with ``ca.crt`` and ``<identity>.crt``/``.key`` (an application certificate).
        scenario: directory with the ``grid.csv`` giving the day-ahead schedule and prices.
        token_file: the state API's operator token (created, mode 0600, if missing).
        identity: DOMS's certificate CN.
        grid_endpoint: the endpoint publishing the load.
        dayahead_dir: file drop of ``dayahead*.csv`` (None: the scenario only).
        host, port: the state API (port 0: any free port).
        settings: the service's settings.
        hasher: argon2 parameters of the token (tests pass cheap ones).
        token_cache_s: how long a verified token is remembered [s of the clock].
    """

    broker_url: str
    pki: Path
    scenario: Path
    token_file: Path
    identity: str = DOMS_IDENTITY
    grid_endpoint: str = GRID_ENDPOINT
    dayahead_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8472
    settings: DomsSettings = field(default_factory=DomsSettings)
    hasher: PasswordHasher | None = None
    token_cache_s: float = 60.0


@dataclass
class LiveDoms:
    """The running service and where its API listens."""

    service: DomsService
    url: str
    app: Application
    subscription: Subscription


class _Server(uvicorn.Server):
    """uvicorn inside a program that owns SIGINT/SIGTERM itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def _serve(app: FastAPI, host: str, port: int) -> AsyncIterator[str]:
    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(), name="uvicorn doms")
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the DOMS API did not start")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def live_doms(options: LiveOptions, clock: Clock, market: httpx.AsyncClient | None) -> AsyncIterator[LiveDoms]:
    """Run the live DOMS until the block ends (see the module docstring).

    Args:
        options: broker, certificates, scenario, API.
        clock: the platform clock.
        market: FMAR client authenticated as a buyer, based at ``/api/v1`` (None: decide, do not buy).

    Raises:
        ScenarioError: the scenario's grid.csv is missing or malformed (the message names the row or column).
        TransportError: bad broker URL or certificate files.
    """
    replay = await asyncio.to_thread(ScenarioReplay.read, options.scenario, scale=options.settings.scale)
    inputs = DayaheadSource(replay, options.dayahead_dir)
    service = DomsService(clock=clock, inputs=inputs, market=market, settings=options.settings)
    hasher = options.hasher or PasswordHasher()
    token_hash = await asyncio.to_thread(ensure_token, options.token_file, hasher)
    api = create_app(service, clock, token_hash=token_hash, hasher=hasher, token_cache_s=options.token_cache_s)
    application = Application(
        options.identity,
        broker=options.broker_url,
        ca_file=options.pki / "ca.crt",
        cert_file=options.pki / f"{options.identity}.crt",
        key_file=options.pki / f"{options.identity}.key",
        clock=clock,
    )
    stop = asyncio.Event()
    async with application, _serve(api, options.host, options.port) as url:
        subscription = application.subscribe(f"@update/{options.grid_endpoint}/#")
        tasks = [
            asyncio.create_task(service.follow(subscription), name="doms input"),
            asyncio.create_task(service.run(stop), name="doms cycle"),
        ]
        log.info("DOMS: state API on %s, reading %s", url, options.grid_endpoint)
        try:
            yield LiveDoms(service, url, application, subscription)
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await subscription.close()


__all__ = ["DOMS_IDENTITY", "LiveDoms", "LiveOptions", "live_doms"]
