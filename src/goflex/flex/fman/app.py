"""FMAN's HTTP API (trading contract, section "FMAN"), base ``/api/v1``; OpenAPI at ``/docs``.

Every route but ``GET /api/v1/health`` needs ``Authorization: Bearer <token>`` (401 without or invalid, 403 when the
role does not allow it). Errors are ``{"error": {"code", "message"}}`` with a 4xx status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from argon2 import PasswordHasher
from fastapi import Body, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from goflex.common.clock import Clock
from goflex.flex.fman.credentials import TokenVerifier
from goflex.flex.fman.errors import RequestRefused
from goflex.flex.fman.loops import run_loops
from goflex.flex.fman.market_client import MarketClient
from goflex.flex.fman.push import Pusher
from goflex.flex.fman.repository import AgentRecord, FmanStore
from goflex.flex.fman.service import FlexibilityManager
from goflex.flex.fman.settings import FmanSettings

log = logging.getLogger(__name__)


class HeartbeatIn(BaseModel):
    """``POST /heartbeat``: the agent's operation state and current power, and the deliveries it has taken."""

    state: str = Field(default="operational", max_length=64)
    powerW: float | None = Field(default=None, allow_inf_nan=False)  # noqa: N815 - wire name
    ack: list[str] = Field(default_factory=list, description="flexOfferIds whose delivery the agent has taken")


class MeterInterval(BaseModel):
    """Metered energy of one interval [kWh], consumption-positive."""

    model_config = ConfigDict(extra="forbid")
    start: AwareDatetime
    energyKwh: float = Field(allow_inf_nan=False)  # noqa: N815 - wire name


class MeteringIn(BaseModel):
    """``POST /metering``."""

    model_config = ConfigDict(extra="forbid")
    flexOfferId: str  # noqa: N815 - wire name
    intervals: list[MeterInterval]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> AgentRecord:
    manager: FlexibilityManager = request.app.state.manager
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise manager.refuse(401, "unauthorised", "Authorization: 'Bearer <token>' required")
    return await asyncio.to_thread(manager.principal, token.strip())


Principal = Annotated[AgentRecord, Depends(_principal)]


def create_app(
    store: FmanStore,
    clock: Clock,
    settings: FmanSettings,
    *,
    market: MarketClient | None = None,
    hasher: PasswordHasher | None = None,
    background: bool = False,
    token_cache_s: float = 30.0,
) -> FastAPI:
    """The FMAN app.

    Args:
        store: FMAN's tables, migrated.
        clock: the platform clock.
        settings: FMAN's settings.
        market: FMAR's client; ``None`` holds offers without trading.
        hasher: argon2 parameters for token checks (tests pass cheap ones).
        background: run the bid and pull loops while the app is served (lifespan); tests drive them by hand
            through ``app.state.manager.trader``.
        token_cache_s: how long a verified token is remembered [s].
    """
    verifier = TokenVerifier(hasher or PasswordHasher(), clock.monotonic, token_cache_s)
    manager = FlexibilityManager(store, clock, settings, verifier=verifier, market=market)
    pusher = Pusher(manager.counters, timeout_s=settings.push_timeout_s)
    manager.trader.pusher = pusher
    manager.trader.load()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(run_loops(manager), name="fman-loops") if background else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await pusher.close()

    app = FastAPI(
        title="goflex FMAN",
        description="Flexibility Manager: FlexOffers in from agents, bids out to the market (issue 4 section 3).",
        lifespan=lifespan,
    )
    app.state.manager = manager

    @app.exception_handler(RequestRefused)
    async def _refused(_request: Request, exc: RequestRefused) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        field = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "<body>"
        manager.counters["refused_invalid_request"] += 1
        return _error(422, "invalid_request", f"{field}: {first.get('msg')}")

    @app.get("/api/v1/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/flexoffers", status_code=201)
    async def post_offer(
        who: Principal,
        body: Annotated[dict[str, Any], Body(description="one FlexOffer (User Group JSON)")],
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        status, answer = manager.submit_offer(who, body, idempotency_key)
        return JSONResponse(answer, status_code=status)

    @app.put("/api/v1/flexoffers/{offer_id}")
    async def put_offer(
        who: Principal, offer_id: str, body: Annotated[dict[str, Any], Body(description="the new FlexOffer")]
    ) -> dict[str, Any]:
        return await manager.replace_offer(who, offer_id, body)

    @app.delete("/api/v1/flexoffers/{offer_id}")
    async def delete_offer(who: Principal, offer_id: str) -> dict[str, Any]:
        return await manager.withdraw_offer(who, offer_id)

    @app.get("/api/v1/flexoffers/{offer_id}")
    async def get_offer(who: Principal, offer_id: str) -> dict[str, Any]:
        return manager.get_offer(who, offer_id)

    @app.post("/api/v1/heartbeat")
    async def heartbeat(who: Principal, body: HeartbeatIn) -> dict[str, Any]:
        return manager.heartbeat(who, body.state, body.powerW, body.ack)

    @app.post("/api/v1/metering")
    async def metering(who: Principal, body: MeteringIn) -> dict[str, Any]:
        intervals = [(i.start, i.energyKwh) for i in body.intervals]
        return manager.metering(who, body.flexOfferId, intervals)

    @app.get("/api/v1/accounts/{prosumer_id}")
    async def account(who: Principal, prosumer_id: str) -> dict[str, Any]:
        return manager.account(who, prosumer_id)

    @app.get("/api/v1/stats")
    async def stats(who: Principal) -> dict[str, Any]:
        return manager.stats()

    return app
