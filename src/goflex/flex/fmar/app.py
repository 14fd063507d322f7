"""The market's HTTP API (trading contract, FMAR): FastAPI app built by :func:`create_app`.

Base ``/api/v1``; OpenAPI at ``/docs`` and ``/openapi.json``. ``GET /api/v1/health`` is public; every other route
needs ``Authorization: Bearer <token>`` (401 without or with a bad token, 403 when the role does not allow the
route: deny by default, each route names the roles it allows). Errors are
``{"error": {"code": "...", "message": "..."}}``. The app's lifespan runs the push sender and the deadline task,
which fixes schedules and rejects unmatched bids at their ``assignmentBeforeTime`` (on the market's clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from goflex.common.clock import Clock
from goflex.flex.fmar.errors import Refused
from goflex.flex.fmar.market import Market, MarketSettings
from goflex.flex.fmar.push import Pusher
from goflex.flex.fmar.repository import MarketRepository
from goflex.flex.fmar.routes import register_routes
from goflex.store.errors import StoreUnavailable

log = logging.getLogger(__name__)

API = "/api/v1"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _install_errors(app: FastAPI, market: Market) -> None:
    async def on_refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refused)
        market.refused[exc.code] += 1
        return _error(exc.status, exc.code, exc.message)

    async def on_invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        market.refused["invalid_request"] += 1
        return _error(422, "invalid_request", f"{where}: {first.get('msg')}")

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        return _error(503, "unavailable", "database unavailable, retry later")

    app.add_exception_handler(Refused, on_refused)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(StoreUnavailable, on_unavailable)


async def _finish_in_thread(work: Callable[[], object]) -> None:
    """Run ``work`` in a thread; when cancelled, let the thread finish before re-raising.

    A thread cannot be interrupted: without the wait, a cancelled loop would return while the thread still holds
    a database connection, which then outlives the engine's ``dispose()`` at shutdown.
    """
    running = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await running
        raise


async def _deadline_loop(market: Market, clock: Clock) -> None:
    while True:
        try:
            await _finish_in_thread(market.process_deadlines)
        except Exception:  # the service's top loop: log, keep going (style.md 5)
            log.exception("deadline processing failed")
        wait = market.settings.deadline_poll_s
        upcoming = market.next_deadline()
        if upcoming is not None:
            wait = min(wait, max(0.0, (upcoming - clock.now()).total_seconds()))
        await clock.sleep(max(wait, 0.001))


def create_app(
    repository: MarketRepository,
    clock: Clock,
    settings: MarketSettings | None = None,
    *,
    hasher: PasswordHasher | None = None,
    operator_token_file: Path | None = None,
) -> FastAPI:
    """The market's app over a migrated repository; the order book is rebuilt from it here.

    Args:
        repository: the market's tables (migrated with :func:`goflex.flex.fmar.repository.migrate_market`).
        clock: the market's time (a ``SimClock`` in tests and the demo).
        settings: rules and limits.
        hasher: argon2 parameters for tokens (tests pass cheap ones).
        operator_token_file: with an empty participant table, create an operator and write its token here.
    """
    settings = settings or MarketSettings()
    pusher = Pusher(timeout_s=settings.push_timeout_s)
    market = Market(repository, clock, settings, hasher=hasher, notify=pusher.submit)
    if operator_token_file is not None:
        market.ensure_operator(operator_token_file)
    market.load()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pusher.start()
        task = asyncio.create_task(_deadline_loop(market, clock), name="fmar-deadlines")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await pusher.stop()

    app = FastAPI(
        title="goflex Flexibility Market (FMAR)",
        version="1",
        description=__doc__,
        lifespan=lifespan,
    )
    app.state.market = market
    app.state.pusher = pusher
    _install_errors(app, market)
    register_routes(app, market)
    return app
