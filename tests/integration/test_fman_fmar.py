"""The trading chain through the real services: FOA -> FMAN -> FMAR <- DSO, schedules back to the FOA.

FMAN (:mod:`goflex.flex.fman`) and the real market (:mod:`goflex.flex.fmar`) each run on a real uvicorn with their
own SQLite file; the FOA and the DSO are plain HTTP clients. Both services share one steppable SimClock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from goflex.common.clock import SimClock
from goflex.flex.fman.app import create_app as create_fman
from goflex.flex.fman.market_client import MarketClient
from goflex.flex.fman.repository import FmanStore, migrate
from goflex.flex.fman.runner import add_principal
from goflex.flex.fmar.app import create_app as create_fmar
from goflex.flex.fmar.market import MarketSettings
from goflex.flex.fmar.repository import MarketRepository, migrate_market
from goflex.store import open_database
from tests.integration.test_fman import FAST, NOW, SETTINGS, bearer, offer, served


@dataclass
class Chain:
    fman: httpx.AsyncClient
    fmar: httpx.AsyncClient
    tokens: dict[str, str]
    clock: SimClock
    trader: Any


@pytest.fixture
async def chain(tmp_path: Path) -> AsyncIterator[Chain]:
    clock = SimClock(NOW, speed=0)
    market_db = open_database(f"sqlite:///{tmp_path / 'market.db'}")
    migrate_market(market_db)
    fmar_app = create_fmar(
        MarketRepository(market_db),
        clock,
        MarketSettings(deadline_poll_s=60.0),
        hasher=FAST,
        operator_token_file=tmp_path / "fmar-operator.txt",
    )
    market = fmar_app.state.market
    tokens = {
        "fman@fmar": market.add_participant("goflex-fman", ["seller"]),
        "dso": market.add_participant("dso", ["buyer"]),
    }
    fman_db = open_database(f"sqlite:///{tmp_path / 'fman.db'}")
    migrate(fman_db)
    store = FmanStore(fman_db)
    tokens["foa"] = add_principal(store, FAST, "foa-dc", role="agent", now=NOW)
    async with served(fmar_app) as fmar_url:
        client = MarketClient(f"{fmar_url}/api/v1", tokens["fman@fmar"])
        fman_app = create_fman(store, clock, SETTINGS, market=client, hasher=FAST)
        async with (
            served(fman_app) as fman_url,
            httpx.AsyncClient(base_url=f"{fman_url}/api/v1") as fman,
            httpx.AsyncClient(base_url=f"{fmar_url}/api/v1") as fmar,
        ):
            yield Chain(fman, fmar, tokens, clock, fman_app.state.manager.trader)
        await client.close()
    fman_db.close()
    market_db.close()


async def test_a_dso_buy_order_becomes_member_schedules_at_the_foa(chain: Chain) -> None:
    foa = bearer(chain.tokens["foa"])
    for i in (1, 2):
        answer = await chain.fman.post("/flexoffers", json=offer(f"fo-{i}"), headers=foa | {"Idempotency-Key": f"{i}"})
        assert answer.json()["state"] == "accepted", answer.text
    await chain.trader.bid_round()
    assert chain.trader.counters["bids_submitted"] == 1, dict(chain.trader.counters)

    # The DSO buys 0.5 kWh less consumption in the 09:00 slot, at up to 0.10 EUR/kWh; FMAN asks 0.05.
    buy = {
        "direction": "down",
        "locationId": "sion-1",
        "maxPriceEurPerKwh": 0.10,
        "slots": [{"start": "2026-01-22T09:00:00Z", "energyKwh": 0.5}],
        "allowPartial": True,
    }
    order = await chain.fmar.post(
        "/orders/buy", json=buy, headers=bearer(chain.tokens["dso"]) | {"Idempotency-Key": "b1"}
    )
    assert order.status_code == 201, order.text
    trades = (await chain.fmar.get("/trades", headers=bearer(chain.tokens["dso"]))).json()["trades"]
    assert [(t["energyKwh"], t["priceEurPerKwh"], t["direction"]) for t in trades] == [(0.5, 0.05, "down")]

    # The bid's deadline (08:40, 5 min before the members' 08:45) passes: FMAR fixes the schedule.
    chain.clock.advance((datetime(2026, 1, 22, 8, 41, tzinfo=UTC) - NOW).total_seconds())
    for _ in range(200):
        await chain.trader.market_pull()
        if chain.trader.counters["bids_scheduled"]:
            break
        await asyncio.sleep(0.02)
    beat = await chain.fman.post("/heartbeat", json={"state": "operational", "ack": []}, headers=foa)
    schedules = {s["flexOfferId"]: s["flexOfferSchedule"] for s in beat.json()["schedules"]}
    assert set(schedules) == {"fo-1", "fo-2"}
    assert {s["startTime"] for s in schedules.values()} == {"2026-01-22T09:00:00Z"}
    # Baseline 2 x 2 kWh; the contract takes 0.5 kWh away in the first interval.
    total = sum(x["energyAmount"] for s in schedules.values() for x in s["scheduleSlices"])
    assert total == pytest.approx(4.0 - 0.5)
    view = (await chain.fman.get("/flexoffers/fo-1", headers=foa)).json()
    assert view["state"] == "assigned"
    # Acked by the FOA, FMAN stops delivering; FMAN's own ack reaches FMAR with its next pull.
    taken = await chain.fman.post("/heartbeat", json={"ack": ["fo-1", "fo-2"]}, headers=foa)
    assert taken.json()["schedules"] == []
    await chain.trader.market_pull()
    left = (await chain.fmar.get("/schedules", headers=bearer(chain.tokens["fman@fmar"]))).json()
    assert left["schedules"] == []

    # fo-1 meters its schedule; fo-2 never reports. FMAN waits for it until settlementWait after the bid's end...
    step = timedelta(minutes=15)
    intervals, start = [], datetime(2026, 1, 22, 9, 0, tzinfo=UTC)
    for item in schedules["fo-1"]["scheduleSlices"]:
        for _ in range(item["duration"]):
            intervals.append(
                {"start": f"{start:%Y-%m-%dT%H:%M:%SZ}", "energyKwh": item["energyAmount"] / item["duration"]}
            )
            start += step
    chain.clock.advance((datetime(2026, 1, 22, 10, 5, tzinfo=UTC) - chain.clock.now()).total_seconds())
    metered = await chain.fman.post("/metering", json={"flexOfferId": "fo-1", "intervals": intervals}, headers=foa)
    assert metered.json()["state"] == "executed", metered.text
    await chain.trader.settle_round()
    dso = bearer(chain.tokens["dso"])
    assert (await chain.fmar.get("/settlements", headers=dso)).json()["settlements"] == []

    # ... then forwards what it has: fo-2 counts as its baseline (2 kWh, no flexibility delivered).
    chain.clock.advance(3600)
    await chain.trader.settle_round()
    (settled,) = (await chain.fmar.get("/settlements", headers=dso)).json()["settlements"]
    assert settled["deliveredKwh"] == pytest.approx(sum(i["energyKwh"] for i in intervals) + 2.0)
    # 09:00: baseline 2 x 0.5 kWh; fo-2 at its baseline, so only fo-1's share of the 0.5 kWh cut is delivered
    delivered = min(0.5, max(0.0, 1.0 - (intervals[0]["energyKwh"] + 0.5)))
    assert settled["paymentEur"] == pytest.approx(0.05 * delivered)
    assert chain.trader.counters["bids_settled"] == 1
    fo1 = (await chain.fman.get("/accounts/goflex-dc-004", headers=foa)).json()
    # both offers are goflex-dc-004's: 0.8 of the market's payment, all of it earned by fo-1's delivery
    assert fo1["remunerationEur"] == pytest.approx(0.8 * settled["paymentEur"])
