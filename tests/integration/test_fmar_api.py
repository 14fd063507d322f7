"""The market's HTTP API on a real uvicorn and a real SQLite file (PostgreSQL: test_fmar_postgres.py).

Time is a steppable SimClock: market time stands at 06:00 on 2026-01-22 until a test advances it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI, Request

from goflex.common.clock import SimClock
from goflex.flex.fmar.app import create_app
from goflex.flex.fmar.market import MarketSettings
from goflex.flex.fmar.repository import MarketRepository, migrate_market
from goflex.flex.json_codec import dump_offer
from goflex.store.database import Database, open_database
from tests.unit.flex.fmar.offers import NOW, T0, bid_offer

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
API = "/api/v1"


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Run ``app`` on a free port; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
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


class Market:
    """A running market with an operator, a seller and a buyer."""

    def __init__(self, url: str, clock: SimClock, tokens: dict[str, str]) -> None:
        self.url, self.clock, self.tokens = url, clock, tokens
        self.http = httpx.AsyncClient(base_url=url + API, timeout=10)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def post(self, path: str, who: str, body: dict[str, Any], key: str | None = "k") -> httpx.Response:
        headers = self.auth(who) | ({"Idempotency-Key": key} if key else {})
        return await self.http.post(path, json=body, headers=headers)

    async def get(self, path: str, who: str, **params: str) -> dict[str, Any]:
        response = await self.http.get(path, headers=self.auth(who), params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@contextlib.asynccontextmanager
async def running_market(
    db: Database, tmp_path: Path, clock: SimClock, *, callback_url: str | None = None
) -> AsyncIterator[Market]:
    settings = MarketSettings(deadline_poll_s=60.0)
    app = create_app(
        MarketRepository(db), clock, settings, hasher=FAST_HASHER, operator_token_file=tmp_path / "operator.txt"
    )
    async with serve(app) as url:
        market = Market(url, clock, {"operator": (tmp_path / "operator.txt").read_text().strip()})
        for pid, role in (("agg", "seller"), ("dso", "buyer")):
            path = tmp_path / f"{pid}.txt"
            if not path.exists():
                body = {"id": pid, "roles": [role], "callbackUrl": callback_url if role == "seller" else None}
                response = await market.post("/participants", "operator", body, key=None)
                assert response.status_code == 201, response.text
                path.write_text(response.json()["token"])
            market.tokens[pid] = path.read_text()
        try:
            yield market
        finally:
            await market.http.aclose()


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_database(f"sqlite:///{tmp_path / 'market.db'}")
    migrate_market(database)
    return database


@pytest.fixture
async def market(db: Database, tmp_path: Path) -> AsyncIterator[Market]:
    async with running_market(db, tmp_path, SimClock(NOW, speed=0)) as m:
        yield m
    db.close()


def bid(offer_id: str = "fo-1", **kwargs: Any) -> dict[str, Any]:
    """A bid of 2 kWh down at 0.05 EUR/kWh in the 09:00 slot (baseline 2 kWh, bounds [0, 2])."""
    return {"flexOffer": dump_offer(bid_offer(offer_id, [(1, 0.0, 2.0, 0.05, 0.05)], [2.0], **kwargs))}


def buy(energy: float = 1.0, price: float = 0.1, start: str = "2026-01-22T09:00:00Z") -> dict[str, Any]:
    return {"direction": "down", "maxPriceEurPerKwh": price, "slots": [{"start": start, "energyKwh": energy}]}


async def test_health_is_public_and_everything_else_needs_a_token_and_a_role(market: Market) -> None:
    assert (await market.http.get("/health")).json() == {"status": "ok"}
    assert (await market.http.get("/orderbook")).status_code == 401
    bad = await market.http.get("/orderbook", headers={"Authorization": "Bearer fmar_00.nope"})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "unauthenticated"
    wrong_role = await market.post("/orders/sell", "dso", bid())
    assert wrong_role.status_code == 403
    assert wrong_role.json()["error"]["code"] == "forbidden"
    assert (await market.post("/participants", "agg", {"id": "x", "roles": ["buyer"]}, key=None)).status_code == 403
    me = await market.get("/participants/me", "agg")
    assert me["roles"] == ["seller"]
    assert "token" not in me


async def test_idempotent_submission(market: Market) -> None:
    first = await market.post("/orders/sell", "agg", bid(), key="a1")
    again = await market.post("/orders/sell", "agg", bid(), key="a1")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    reused = await market.post("/orders/sell", "agg", bid("fo-other"), key="a1")
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    missing = await market.post("/orders/sell", "agg", bid(), key=None)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "missing_idempotency_key"
    assert len((await market.get("/orderbook", "dso"))["sell"]) == 1


async def test_gate_closure_and_invalid_offers_are_rejected_and_counted(market: Market) -> None:
    market.clock.advance(timedelta(hours=2, minutes=50).total_seconds())  # 08:50: the 09:00 slot is closed
    closed = (await market.post("/orders/buy", "dso", buy(), key="b1")).json()
    assert (closed["status"], closed["reason"]) == ("rejected", "gate_closed")
    assert "09:00" in closed["message"]
    broken = bid()
    del broken["flexOffer"]["defaultSchedule"]
    invalid = (await market.post("/orders/sell", "agg", broken, key="s1")).json()
    assert (invalid["status"], invalid["reason"]) == ("rejected", "invalid_offer")
    assert "defaultSchedule" in invalid["message"]
    stats = await market.get("/stats", "operator")
    assert stats["rejectedOrders"] == {"gate_closed": 1, "invalid_offer": 1}


async def test_revocation_before_match_and_not_after(market: Market) -> None:
    first = (await market.post("/orders/sell", "agg", bid("fo-1"), key="s1")).json()["orderId"]
    revoked = await market.http.delete(f"/orders/{first}", headers=market.auth("agg"))
    assert revoked.json() == {"orderId": first, "status": "revoked"}
    second = (await market.post("/orders/sell", "agg", bid("fo-2"), key="s2")).json()["orderId"]
    await market.post("/orders/buy", "dso", buy(1.0), key="b1")
    too_late = await market.http.delete(f"/orders/{second}", headers=market.auth("agg"))
    assert too_late.status_code == 409
    assert too_late.json()["error"]["code"] == "not_revocable"
    not_mine = await market.http.delete(f"/orders/{second}", headers=market.auth("dso"))
    assert not_mine.status_code == 404


async def test_partial_match_schedule_pull_and_pay_as_bid_settlement(market: Market) -> None:
    sell = (await market.post("/orders/sell", "agg", bid(), key="s1")).json()["orderId"]
    order = (await market.post("/orders/buy", "dso", buy(energy=3.0), key="b1")).json()
    assert order["status"] == "accepted"
    view = await market.get(f"/orders/{order['orderId']}", "dso")
    assert view["status"] == "matched"
    assert view["remainingKwh"] == [{"start": "2026-01-22T09:00:00Z", "energyKwh": 1.0}]
    contracts = (await market.get("/contracts", "dso"))["contracts"]
    assert [(c["energyKwh"], c["priceEurPerKwh"], c["sellerId"]) for c in contracts] == [(2.0, 0.05, "agg")]
    assert "buyerId" not in (await market.get("/trades", "agg"))["trades"][0]
    # The bid is fully used: its schedule is fixed at once (2 kWh less than the 2 kWh baseline).
    pulled = await market.get("/schedules", "agg")
    assert [s["orderId"] for s in pulled["schedules"]] == [sell]
    assert pulled["schedules"][0]["flexOfferSchedule"]["scheduleSlices"][0]["energyAmount"] == 0.0
    assert (await market.get("/schedules", "agg", ack=sell))["schedules"] == []
    metered = await market.post(
        "/metering", "agg", {"orderId": sell, "intervals": [{"start": "2026-01-22T09:00:00Z", "energyKwh": 0.5}]}
    )
    # Delivered 2.0 - 0.5 = 1.5 kWh of the 2 kWh contracted -> 1.5 x 0.05 = 0.075 EUR; imbalance 0.5 kWh < 1.
    assert metered.status_code == 200, metered.text
    result = metered.json()
    assert result["deliveredDeviationKwh"] == pytest.approx(1.5)
    assert result["paymentEur"] == pytest.approx(0.075)
    assert result["imbalanceFeeEur"] == 0.0
    assert (await market.get(f"/orders/{sell}", "agg"))["status"] == "settled"
    assert (await market.get("/settlements", "dso"))["settlements"][0]["paymentEur"] == pytest.approx(0.075)


async def test_update_replaces_a_bid_until_it_matches(market: Market) -> None:
    sell = (await market.post("/orders/sell", "agg", bid(), key="s1")).json()["orderId"]
    updated = await market.http.put(f"/orders/sell/{sell}", json=bid("fo-1b"), headers=market.auth("agg"))
    assert updated.json()["status"] == "updated"
    book = await market.get("/orderbook", "dso")
    assert [b["flexOfferId"] for b in book["sell"]] == ["fo-1b"]
    await market.post("/orders/buy", "dso", buy(0.5), key="b1")
    again = await market.http.put(f"/orders/sell/{sell}", json=bid("fo-1c"), headers=market.auth("agg"))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_updatable"


async def test_unmatched_bid_is_rejected_at_its_deadline(market: Market) -> None:
    sell = (await market.post("/orders/sell", "agg", bid(), key="s1")).json()["orderId"]
    market.clock.advance(timedelta(hours=2, minutes=1).total_seconds())  # past assignmentBeforeTime 08:00
    for _ in range(200):
        pulled = await market.get("/schedules", "agg")
        if pulled["rejected"]:
            break
        await asyncio.sleep(0.02)
    assert pulled["rejected"] == [{"orderId": sell, "flexOfferId": "fo-1", "reason": "unmatched_at_deadline"}]
    view = await market.get(f"/orders/{sell}", "agg")
    assert [e["status"] for e in view["events"]] == ["accepted", "rejected"]


async def test_a_restart_keeps_the_book(db: Database, tmp_path: Path) -> None:
    clock = SimClock(NOW, speed=0)
    async with running_market(db, tmp_path, clock) as market:
        await market.post("/orders/sell", "agg", bid("fo-1", tf=2), key="s1")
        await market.post("/orders/buy", "dso", buy(0.5, start="2026-01-22T09:30:00Z"), key="b1")
        await market.post("/orders/buy", "dso", buy(3.0, price=0.01), key="b2")  # too cheap: rests
        before = await market.get("/orderbook", "operator")
    async with running_market(db, tmp_path, clock) as market:
        after = await market.get("/orderbook", "operator")
        assert after == before
        assert after["sell"][0]["startTime"] == "2026-01-22T09:30:00Z"
        assert len(after["buy"]) == 1
        # The restarted book still matches: the remaining 1.5 kWh of the bid at its fixed start.
        await market.post("/orders/buy", "dso", buy(5.0, start="2026-01-22T09:30:00Z"), key="b3")
        contracts = (await market.get("/contracts", "agg"))["contracts"]
        assert sum(c["energyKwh"] for c in contracts) == pytest.approx(2.0)
    db.close()


async def test_schedules_are_pushed_to_the_sellers_callback(db: Database, tmp_path: Path) -> None:
    received: list[dict[str, Any]] = []
    receiver = FastAPI()

    @receiver.post("/hook/schedules")
    async def hook(request: Request) -> dict[str, str]:
        received.append(await request.json())
        return {"status": "ok"}

    async with contextlib.AsyncExitStack() as stack:
        hook_url = await stack.enter_async_context(serve(receiver))
        clock = SimClock(NOW, speed=0)
        market = await stack.enter_async_context(running_market(db, tmp_path, clock, callback_url=f"{hook_url}/hook"))
        sell = (await market.post("/orders/sell", "agg", bid(), key="s1")).json()["orderId"]
        await market.post("/orders/buy", "dso", buy(2.0), key="b1")
        for _ in range(200):
            if received:
                break
            await asyncio.sleep(0.02)
    assert [(r["orderId"], r["flexOfferId"]) for r in received] == [(sell, "fo-1")]
    assert received[0]["flexOfferSchedule"]["startTime"] == "2026-01-22T09:00:00Z"
    db.close()


def test_start_is_the_first_traded_slot() -> None:
    assert T0.isoformat() == "2026-01-22T09:00:00+00:00"
