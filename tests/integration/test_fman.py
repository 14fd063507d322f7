"""FMAN end to end over HTTP: a real uvicorn for FMAN, for a market and for an agent's push callback.

The market here is ``FmarContractDouble``, a **contract double**: a minimal FastAPI app implementing the part of
the trading contract's FMAR section that FMAN uses (sell orders with idempotency keys, update, revoke with
``409 not_revocable`` once matched, ``GET /schedules?ack=``), because FMAR's own ``create_app`` was not importable
when this was written. Matching is not simulated: the test decides what FMAR answers (``match``, ``schedule``,
``reject``), which is what FMAN must react to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from goflex.common.clock import RealClock, SimClock
from goflex.flex.fman.app import create_app
from goflex.flex.fman.bids import BidPricing
from goflex.flex.fman.errors import MarketUnavailable
from goflex.flex.fman.market_client import MarketClient
from goflex.flex.fman.repository import FmanStore, migrate
from goflex.flex.fman.runner import add_principal
from goflex.flex.fman.settings import FmanSettings
from goflex.store import Database, open_database

NOW = datetime(2026, 1, 22, 5, 0, tzinfo=UTC)
FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
MARKET_TOKEN = "fman-at-fmar-secret"


# ------------------------------------------------------------------------------------------ the FMAR contract double
@dataclass
class Order:
    order_id: str
    flex_offer: dict[str, Any]
    status: str = "accepted"
    matched: bool = False


@dataclass
class FmarContractDouble:
    """The FMAR endpoints FMAN uses, per the trading contract; the test plays the matching engine."""

    orders: dict[str, Order] = field(default_factory=dict)
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (body digest, order id)
    outbox: dict[str, dict[str, Any]] = field(default_factory=dict)  # order id -> schedule or rejection
    acked: list[str] = field(default_factory=list)
    down: bool = False

    def open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if o.status in ("accepted", "updated")]

    def schedule(self, order: Order, start: str, amounts: list[float]) -> None:
        order.status = "scheduled"
        schedule = {"startTime": start, "scheduleSlices": [{"duration": 1, "energyAmount": a} for a in amounts]}
        self.outbox[order.order_id] = {
            "orderId": order.order_id,
            "flexOfferId": order.flex_offer["id"],
            "flexOfferSchedule": schedule,
            "contractIds": [f"c-{order.order_id}"],
        }

    def reject(self, order: Order, reason: str) -> None:
        order.status = "rejected"
        self.outbox[order.order_id] = {
            "orderId": order.order_id,
            "flexOfferId": order.flex_offer["id"],
            "reason": reason,
        }

    def app(self) -> FastAPI:
        app = FastAPI()

        def error(status: int, code: str) -> JSONResponse:
            return JSONResponse({"error": {"code": code, "message": code}}, status_code=status)

        @app.middleware("http")
        async def gate(request: Request, call_next: Any) -> Any:
            if self.down:
                return error(503, "down")
            if request.headers.get("authorization") != f"Bearer {MARKET_TOKEN}":
                return error(401, "unauthorised")
            return await call_next(request)

        @app.post("/api/v1/orders/sell", status_code=201)
        async def sell(body: dict[str, Any], idempotency_key: Annotated[str | None, Header()] = None) -> Any:
            if not idempotency_key:
                return error(400, "missing_idempotency_key")
            digest = json.dumps(body, sort_keys=True)
            if idempotency_key in self.keys:
                seen, order_id = self.keys[idempotency_key]
                if seen != digest:
                    return error(409, "idempotency_key_reused")
                return JSONResponse({"orderId": order_id, "status": "accepted"}, status_code=200)
            order_id = f"ord-{len(self.orders) + 1}"
            self.orders[order_id] = Order(order_id, body["flexOffer"])
            self.keys[idempotency_key] = (digest, order_id)
            return {"orderId": order_id, "status": "accepted", "reason": None, "message": None}

        @app.put("/api/v1/orders/sell/{order_id}")
        async def update(order_id: str, body: dict[str, Any]) -> Any:
            order = self.orders.get(order_id)
            if order is None:
                return error(404, "unknown_order")
            if order.matched or order.status not in ("accepted", "updated"):
                return error(409, "not_revocable")
            order.flex_offer, order.status = body["flexOffer"], "updated"
            return {"orderId": order_id, "status": "updated", "reason": None, "message": None}

        @app.delete("/api/v1/orders/{order_id}")
        async def revoke(order_id: str) -> Any:
            order = self.orders.get(order_id)
            if order is None:
                return error(404, "unknown_order")
            if order.matched or order.status not in ("accepted", "updated"):
                return error(409, "not_revocable")
            order.status = "revoked"
            return {"orderId": order_id, "status": "revoked"}

        @app.get("/api/v1/schedules")
        async def schedules(ack: str | None = None) -> Any:
            for order_id in (ack or "").split(","):
                if order_id:
                    self.acked.append(order_id)
                    self.outbox.pop(order_id, None)
            items = list(self.outbox.values())
            return {
                "schedules": [i for i in items if "flexOfferSchedule" in i],
                "rejected": [i for i in items if "reason" in i],
                "serverTime": "2026-01-22T05:00:00Z",
            }

        return app


@dataclass
class PushReceiver:
    """An agent's callback endpoint: records what FMAN pushes."""

    received: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/cb/schedules")
        async def take(body: dict[str, Any]) -> dict[str, str]:
            self.received.append(body)
            return {"status": "ok"}

        return app


# ----------------------------------------------------------------------------------------------------- plumbing
class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # pytest owns the signals
        yield


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` on a free port; yields its base URL."""
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


PRICED = {"tariffConstraint": {"minTariff": -0.01, "maxTariff": 0.01}}  # below FMAN's costs: the bid asks those


def offer(
    offer_id: str, prosumer: str = "goflex-dc-004", location: str | None = "sion-1", **extra: Any
) -> dict[str, Any]:
    """After the reference example of flexoffer.md section 1 (one 4-hour window, two slices of 30 min), both priced."""
    body: dict[str, Any] = {
        "id": offer_id,
        "state": "offered",
        "offeredById": prosumer,
        "creationTime": "2026-01-22T05:00:00Z",
        "acceptBeforeTime": "2026-01-22T07:45:00Z",
        "assignmentBeforeTime": "2026-01-22T08:45:00Z",
        "startAfterTime": "2026-01-22T09:00:00Z",
        "startBeforeTime": "2026-01-22T13:00:00Z",
        "numSecondsPerInterval": 900,
        "flexOfferProfileConstraints": [
            {"minDuration": 2, "maxDuration": 2, "energyConstraintList": [{"lower": 0.0, "upper": 1.5}]} | PRICED,
            {"minDuration": 2, "maxDuration": 2, "energyConstraintList": [{"lower": 0.5, "upper": 1.5}]} | PRICED,
        ],
        "defaultSchedule": {
            "startTime": "2026-01-22T09:00:00Z",
            "scheduleSlices": [{"duration": 2, "energyAmount": 1.0}, {"duration": 2, "energyAmount": 1.0}],
        },
    }
    if location is not None:
        body["locationId"] = location
    return body | extra


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    db: Database
    store: FmanStore
    fman: httpx.AsyncClient
    fmar: FmarContractDouble
    push: PushReceiver
    app: FastAPI
    tokens: dict[str, str]
    clock: SimClock
    market_url: str

    async def post(self, who: str, body: Any, key: str | None) -> httpx.Response:
        headers = bearer(self.tokens[who]) | ({"Idempotency-Key": key} if key else {})
        return await self.fman.post("/api/v1/flexoffers", json=body, headers=headers)

    async def heartbeat(self, who: str, ack: list[str] | None = None) -> dict[str, Any]:
        body = {"state": "operational", "powerW": 1234.0, "ack": ack or []}
        response = await self.fman.post("/api/v1/heartbeat", json=body, headers=bearer(self.tokens[who]))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    @property
    def trader(self) -> Any:
        return self.app.state.manager.trader


SETTINGS = FmanSettings(aggregator_id="goflex-fman", est_tolerance=4, pricing=BidPricing(0.06, 0.05, 300))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    db = open_database(f"sqlite:///{tmp_path / 'fman.db'}")
    migrate(db)
    store = FmanStore(db)
    fmar, push = FmarContractDouble(), PushReceiver()
    clock = SimClock(NOW, speed=0)
    async with served(fmar.app()) as market_url, served(push.app()) as push_url:
        tokens = {
            "foa-dc": add_principal(store, FAST, "foa-dc", role="agent", now=NOW, callback_url=f"{push_url}/cb"),
            "foa-other": add_principal(store, FAST, "foa-other", role="agent", now=NOW, prosumers=("goflex-dc-100",)),
            "operator": add_principal(store, FAST, "operator", role="operator", now=NOW),
        }
        market = MarketClient(f"{market_url}/api/v1", MARKET_TOKEN)
        app = create_app(store, clock, SETTINGS, market=market, hasher=FAST)
        async with served(app) as fman_url, httpx.AsyncClient(base_url=fman_url) as client:
            yield World(db, store, client, fmar, push, app, tokens, clock, f"{market_url}/api/v1")
        await market.close()
    db.close()


# -------------------------------------------------------------------------------------------------------- tests
async def test_auth_idempotency_and_intake_rules(world: World) -> None:
    f = world.fman
    assert (await f.get("/api/v1/health")).json() == {"status": "ok"}
    assert (await f.post("/api/v1/flexoffers", json=offer("o1"))).status_code == 401
    bad = await f.post(
        "/api/v1/flexoffers", json=offer("o1"), headers=bearer("foa-dc.wrong") | {"Idempotency-Key": "k"}
    )
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "unauthorised"
    assert (await world.post("operator", offer("o1"), "k1")).status_code == 403
    missing = await world.post("foa-dc", offer("o1"), None)
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "missing_idempotency_key")

    first = await world.post("foa-dc", offer("o1"), "k1")
    assert first.status_code == 201
    assert first.json() == {"id": "o1", "state": "accepted", "reason": None, "message": None}
    again = await world.post("foa-dc", offer("o1"), "k1")
    assert (again.status_code, again.json()) == (200, first.json())
    reused = await world.post("foa-dc", offer("o1b"), "k1")
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "idempotency_key_reused")
    duplicate = await world.post("foa-dc", offer("o1"), "k2")
    assert (duplicate.status_code, duplicate.json()["error"]["code"]) == (409, "duplicate_id")

    # Rules of the offer: rejected with the field named; not a FlexOffer at all: 422.
    late = offer("o-bad", startBeforeTime="2026-01-22T08:00:00Z")
    answer = (await world.post("foa-dc", late, "k3")).json()
    assert (answer["state"], answer["reason"]) == ("rejected", "invalid_offer")
    assert "startBeforeTime" in answer["message"]
    junk = await world.post("foa-dc", {"id": "x", "state": "offered"}, "k4")
    assert (junk.status_code, junk.json()["error"]["code"]) == (422, "invalid_offer")
    assert "required field missing" in junk.json()["error"]["message"]
    # An agent limited to its prosumers cannot offer for another one.
    foreign = await world.post("foa-other", offer("o-foreign"), "k5")
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (403, "not_authorised")
    # Other agents see neither the offer nor the prosumer's account.
    assert (await f.get("/api/v1/flexoffers/o1", headers=bearer(world.tokens["foa-other"]))).status_code == 404
    assert (await f.get("/api/v1/accounts/goflex-dc-004", headers=bearer(world.tokens["foa-other"]))).status_code == 403

    stats = (await f.get("/api/v1/stats", headers=bearer(world.tokens["operator"]))).json()
    assert stats["counters"]["rejected_invalid_offer"] == 1
    assert stats["counters"]["refused_unauthorised"] >= 2
    assert stats["portfolio"]["offers"] == 1


async def test_offers_with_nothing_for_sale_are_refused(world: World) -> None:
    unpriced = offer("o-unpriced")
    for s in unpriced["flexOfferProfileConstraints"]:
        s.pop("tariffConstraint")
    answer = (await world.post("foa-dc", unpriced, "k1")).json()
    assert (answer["state"], answer["reason"]) == ("rejected", "not_for_sale")
    assert "tariffConstraint" in answer["message"]
    # The reference example's own mix: slice 2 unpriced at its baseline 1.0 leaves at most 2.5 kWh < the TEC's 3.0.
    pinned = offer("o-pinned", totalEnergyConstraint={"lower": 3.0, "upper": 5.0})
    pinned["flexOfferProfileConstraints"][1].pop("tariffConstraint")
    answer = (await world.post("foa-dc", pinned, "k2")).json()
    assert (answer["state"], answer["reason"]) == ("rejected", "unsupported_offer")
    assert answer["message"].startswith("totalEnergyConstraint:")
    assert world.trader.portfolio.groups() == {}


async def test_bid_update_withdraw_schedule_heartbeat_metering_and_account(world: World) -> None:
    for i, key in ((1, "a"), (2, "b")):
        assert (await world.post("foa-dc", offer(f"o{i}"), key)).json()["state"] == "accepted"
    await world.trader.bid_round()
    (order,) = world.fmar.open_orders()
    bid = order.flex_offer
    # Two members at the same EST: bounds and baseline summed per interval, costs as tariffs, earlier deadline.
    bounds = [s["energyConstraintList"][0] for s in bid["flexOfferProfileConstraints"]]
    assert bounds == [{"lower": 0.0, "upper": 1.5}] * 2 + [{"lower": 0.5, "upper": 1.5}] * 2
    assert [s["energyAmount"] for s in bid["defaultSchedule"]["scheduleSlices"]] == [1.0] * 4
    assert bid["flexOfferProfileConstraints"][0]["tariffConstraint"] == {"minTariff": -0.05, "maxTariff": 0.06}
    assert (bid["assignmentBeforeTime"], bid["locationId"], bid["offeredById"]) == (
        "2026-01-22T08:40:00Z",
        "sion-1",
        "goflex-fman",
    )
    await world.trader.bid_round()
    assert len(world.fmar.orders) == 1  # nothing changed: no new order

    # A third offer joins the group: the bid is updated in place (PUT), not duplicated.
    assert (await world.post("foa-dc", offer("o3"), "c")).json()["state"] == "accepted"
    await world.trader.bid_round()
    assert [o.status for o in world.fmar.orders.values()] == ["updated"]
    assert world.fmar.orders[order.order_id].flex_offer["flexOfferProfileConstraints"][0]["energyConstraintList"] == [
        {"lower": 0.0, "upper": 2.25}
    ]

    # Withdrawing o3 revokes the live bid at once; the next round bids o1 + o2 again.
    withdrawn = await world.fman.delete("/api/v1/flexoffers/o3", headers=bearer(world.tokens["foa-dc"]))
    assert withdrawn.json() == {"id": "o3", "state": "canceled"}
    assert world.fmar.orders[order.order_id].status == "revoked"
    await world.trader.bid_round()
    (order,) = world.fmar.open_orders()

    # Replacing o2 while its bid is open: revoked, replaced, bid again.
    changed = offer("o2", defaultSchedule=offer("o2")["defaultSchedule"] | {"startTime": "2026-01-22T09:00:00Z"})
    changed["flexOfferProfileConstraints"][0]["energyConstraintList"] = [{"lower": 0.0, "upper": 1.0}]
    replaced = await world.fman.put("/api/v1/flexoffers/o2", json=changed, headers=bearer(world.tokens["foa-dc"]))
    assert replaced.json()["state"] == "accepted"
    assert world.fmar.orders[order.order_id].status == "revoked"
    await world.trader.bid_round()
    (order,) = world.fmar.open_orders()

    # FMAR matches the bid: withdrawing a member now is refused, and so is an update of the bid.
    order.matched = True
    refused = await world.fman.delete("/api/v1/flexoffers/o1", headers=bearer(world.tokens["foa-dc"]))
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "not_revocable")

    # FMAR fixes the schedule one interval later: the first slice at its maximum (o2 now allows 0.5 kWh per
    # interval there, o1 0.75), the second at its minimum.
    world.fmar.schedule(order, "2026-01-22T09:15:00Z", [1.25, 1.25, 0.5, 0.5])
    await world.trader.market_pull()
    beat = await world.heartbeat("foa-dc")
    got = {s["flexOfferId"]: s["flexOfferSchedule"] for s in beat["schedules"]}
    assert set(got) == {"o1", "o2"}
    assert beat["rejected"] == []
    for schedule in got.values():
        assert schedule["startTime"] == "2026-01-22T09:15:00Z"
    # Member amounts add up to the aggregate's: 2.5 kWh in the first two intervals, 1 kWh in the last two.
    assert sum(s["scheduleSlices"][0]["energyAmount"] for s in got.values()) == pytest.approx(2.5)
    assert sum(s["scheduleSlices"][1]["energyAmount"] for s in got.values()) == pytest.approx(1.0)
    assert got["o1"]["scheduleSlices"][0]["energyAmount"] == pytest.approx(1.5)
    # Delivered until acked; the ack reaches FMAR with the next pull.
    assert {s["flexOfferId"] for s in (await world.heartbeat("foa-dc"))["schedules"]} == {"o1", "o2"}
    assert (await world.heartbeat("foa-dc", ack=["o1", "o2"]))["schedules"] == []
    assert (await world.heartbeat("foa-dc"))["schedules"] == []
    await world.trader.market_pull()
    assert world.fmar.acked == [order.order_id]
    await world.app.state.manager.trader.pusher.drain()
    assert {p["flexOfferId"] for p in world.push.received} == {"o1", "o2"}

    view = (await world.fman.get("/api/v1/flexoffers/o1", headers=bearer(world.tokens["foa-dc"]))).json()
    assert view["state"] == "assigned"
    assert view["flexOffer"]["flexOfferSchedule"] == got["o1"]

    # Metering o1 exactly as scheduled: no deviation; its account shows it.
    slices = got["o1"]["scheduleSlices"]
    per_interval = [slices[0]["energyAmount"] / 2] * 2 + [slices[1]["energyAmount"] / 2] * 2
    start = datetime(2026, 1, 22, 9, 15, tzinfo=UTC)
    intervals = [
        {"start": (start + k * timedelta(minutes=15)).isoformat().replace("+00:00", "Z"), "energyKwh": e}
        for k, e in enumerate(per_interval)
    ]
    metered = await world.fman.post(
        "/api/v1/metering", json={"flexOfferId": "o1", "intervals": intervals}, headers=bearer(world.tokens["foa-dc"])
    )
    record = metered.json()
    assert record["flexOfferId"] == "o1"
    assert record["scheduledKwh"] == pytest.approx(sum(per_interval))
    assert record["deliveredKwh"] == pytest.approx(sum(per_interval))
    assert record["deviationKwh"] == pytest.approx(0.0)
    assert record["state"] == "executed"
    off_grid = [{"start": "2026-01-22T09:20:00Z", "energyKwh": 1.0}]
    bad = await world.fman.post(
        "/api/v1/metering", json={"flexOfferId": "o1", "intervals": off_grid}, headers=bearer(world.tokens["foa-dc"])
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_metering")
    assert "intervals[0].start" in bad.json()["error"]["message"]

    account = (await world.fman.get("/api/v1/accounts/goflex-dc-004", headers=bearer(world.tokens["foa-dc"]))).json()
    # By hand. Offered: o1 1.5 + 1.0 kWh of range, o2 (replaced) 1.0 + 1.0; o3 was withdrawn.
    # Scheduled flex against the 0.5 kWh/interval baselines: o1 |0.75-0.5|x2 + |0.25-0.5|x2 = 1.0, o2 0 + 0.5.
    # The bid earns 2 x 0.25 kWh up at 0.06 + 2 x 0.5 kWh down at 0.05 = 0.08 EUR; o1's share is 1.0 / 1.5 of it,
    # fully delivered, paid at the default 80 %: 0.8 x 0.08 / 1.5 EUR.
    assert account == {
        "prosumerId": "goflex-dc-004",
        "offeredKwh": pytest.approx(4.5),
        "scheduledFlexKwh": pytest.approx(1.5),
        "deliveredFlexKwh": pytest.approx(1.0),
        "remunerationEur": pytest.approx(0.8 * 0.08 / 1.5),
    }


async def test_a_rejected_bid_reaches_the_agent_and_a_restart_keeps_the_portfolio(world: World) -> None:
    assert (await world.post("foa-dc", offer("r1", location="martigny"), "r1")).json()["state"] == "accepted"
    assert (await world.post("foa-dc", offer("k1", location="sion-2"), "k1")).json()["state"] == "accepted"
    await world.trader.bid_round()
    orders = {o.flex_offer["locationId"]: o for o in world.fmar.open_orders()}
    assert set(orders) == {"martigny", "sion-2"}
    world.fmar.reject(orders["martigny"], "unmatched_at_deadline")
    await world.trader.market_pull()
    beat = await world.heartbeat("foa-dc")
    assert beat["rejected"] == [{"flexOfferId": "r1", "reason": "unmatched_at_deadline"}]
    view = (await world.fman.get("/api/v1/flexoffers/r1", headers=bearer(world.tokens["foa-dc"]))).json()
    assert (view["state"], view["reason"]) == ("rejected", "unmatched_at_deadline")
    await world.trader.pusher.drain()

    # A second FMAN on the same database rebuilds the portfolio and the live bid; no duplicate order.
    market = MarketClient(world.market_url, MARKET_TOKEN)
    again = create_app(world.store, world.clock, SETTINGS, market=market, hasher=FAST)
    trader = again.state.manager.trader
    assert len(trader.portfolio) == 1
    assert len(trader.live) == 1
    await trader.bid_round()
    assert len(world.fmar.orders) == 2
    await market.close()
    await trader.pusher.close()


async def test_offers_without_a_schedule_by_their_deadline_are_rejected(world: World) -> None:
    world.fmar.down = True
    assert (await world.post("foa-dc", offer("d1"), "d1")).json()["state"] == "accepted"
    with pytest.raises(MarketUnavailable, match="HTTP 503"):
        await world.trader.bid_round()
    world.clock.advance((datetime(2026, 1, 22, 8, 45, tzinfo=UTC) - NOW).total_seconds())
    world.fmar.down = False
    await world.trader.bid_round()
    beat = await world.heartbeat("foa-dc")
    assert beat["rejected"] == [{"flexOfferId": "d1", "reason": "no_schedule_by_deadline"}]


async def test_the_loop_keeps_going_while_the_market_is_unreachable(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'fman.db'}")
    migrate(db)
    store = FmanStore(db)
    token = add_principal(store, FAST, "foa", role="agent", now=NOW)
    quick = FmanSettings(bid_interval_s=0.05, pull_interval_s=0.05, backoff_base_s=0.05, backoff_cap_s=0.1)
    market = MarketClient("http://127.0.0.1:9/api/v1", MARKET_TOKEN, timeout_s=0.5)  # nothing listens on port 9
    app = create_app(store, RealClock(), quick, market=market, hasher=FAST, background=True)
    async with served(app) as url, httpx.AsyncClient(base_url=url) as client:
        for _ in range(100):
            stats = (await client.get("/api/v1/stats", headers=bearer(token))).json()
            if stats["counters"].get("market_failures", 0) >= 3:
                break
            await asyncio.sleep(0.05)
        assert stats["counters"]["market_failures"] >= 3
        assert (await client.get("/api/v1/health")).status_code == 200
    await market.close()
    db.close()
