"""The live DOMS end to end: grid endpoint -> embedded broker -> DOMS -> FMAR (real app) -> buy orders and trades.

One steppable SimClock drives everything: the grid endpoint publishes a 5-minute load (a scaled balance group
3 MW short of its day-ahead), DOMS reads it through the broker with a READ-only application certificate, plans
at each quarter's last point and buys less consumption on the market, where a seller's bids rest. The imbalance
prices alternate two expensive and two cheap quarters, so shedding in an expensive quarter and recovering in a
cheap one pays. Half-way, the feed gets stuck: DOMS stops (reason ``stuck``) and places nothing until the data is
good again, then buys again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from argon2 import PasswordHasher

from goflex.broker.acl import AccessPolicy
from goflex.broker.embedded import EmbeddedBroker, ssl_context_from_pki
from goflex.broker.embedded.runner import AccessPolicyAuthorizer
from goflex.common.clock import SimClock
from goflex.demo.doms_buyer import doms_grants, prepare_doms_pki
from goflex.demo.grid_meter import GridMeter, open_endpoint
from goflex.demo.trading import serve
from goflex.doms.live import DomsService, DomsSettings
from goflex.doms.live_inputs import ScenarioReplay
from goflex.doms.live_runner import LiveDoms, LiveOptions, live_doms
from goflex.doms.scenario_files import GridSeries, Scenario, write_scenario
from goflex.flex.fmar.app import create_app
from goflex.flex.fmar.repository import MarketRepository, migrate_market
from goflex.flex.json_codec import dump_offer
from goflex.flex.model import (
    EnergyConstraint,
    FlexOffer,
    FlexOfferState,
    ProfileSlice,
    Schedule,
    ScheduleSlice,
    TariffConstraint,
)
from goflex.pki.authority import CertificateAuthority
from goflex.pki.names import CertificateKind
from goflex.sim.runner import BROKER_IDENTITY
from goflex.store import open_database
from tests.unit.doms.doms_synthetic import small_fleet

FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
START = datetime(2026, 1, 22, 6, 0, tzinfo=UTC)  # a whole hour: slot % 4 == 0
T0 = int(START.timestamp())
Q = timedelta(minutes=15)
SCALE = 0.01
STUCK = (T0 + 90 * 60, T0 + 135 * 60)  # 07:30 .. 08:15 the feed repeats one value


def scenario(directory: Path) -> Path:
    """A day from 06:00: day-ahead 75 MW, load 3 MW above (short) with noise, stuck 07:30-08:15; prices E E C C."""
    n = 288
    t = T0 + 300 * np.arange(n, dtype=np.int64)
    dayahead = np.full(n, 75.0)
    rng = np.random.default_rng(5)
    load = 78.0 + rng.normal(0.0, 0.05, n)
    load[(t >= STUCK[0]) & (t < STUCK[1])] = 78.0
    spot = np.full(n, 50.0)
    premium = np.where((t // 900) % 4 < 2, 250.0, 20.0)  # E E C C per hour
    grid = GridSeries(t, load, dayahead, spot, spot + premium, spot - premium)
    target = directory / "scenario"
    write_scenario(target, Scenario(grid, small_fleet()))
    return target


def bid(k: int) -> FlexOffer:
    """The seller's bid ``k``: two 15-min slices of 5 kWh baseline, sellable down to 0 at 0.05 EUR/kWh."""
    start = START + timedelta(minutes=45 + 30 * k)
    slices = (ProfileSlice(1, 1, (EnergyConstraint(0.0, 6.0),), TariffConstraint(-0.05, 0.05)),) * 2
    return FlexOffer(
        id=f"bid-{k}",
        state=FlexOfferState.OFFERED,
        offered_by_id="aggregator",
        creation_time=START - timedelta(minutes=5),
        accept_before_time=START + timedelta(minutes=5),
        assignment_before_time=start - timedelta(minutes=10),
        start_after_time=start,
        start_before_time=start + 4 * Q,
        profile=slices,
        default_schedule=Schedule(start, (ScheduleSlice(1, 5.0), ScheduleSlice(1, 5.0))),
    )


@dataclass
class Rig:
    clock: SimClock
    live: LiveDoms
    meter: GridMeter
    market: httpx.AsyncClient  # as the operator
    token: str

    @property
    def doms(self) -> DomsService:
        return self.live.service

    async def until(self, check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not check():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.01)

    async def tick(self) -> None:
        """Five minutes: the meter publishes at the boundary, DOMS judges the interval 20 s later."""
        boundary = (int(self.clock.time()) // 300 + 1) * 300
        values, points = self.doms.counters.values, self.doms.counters.points
        self.clock.advance(boundary - self.clock.time())
        await self.until(lambda: self.doms.counters.values > values, "the load to arrive through the broker")
        self.clock.advance(self.doms.settings.grace_s + 1)
        await self.until(lambda: self.doms.counters.points > points, "DOMS's step")


@contextlib.asynccontextmanager
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    pki = tmp_path / "pki"
    ca = CertificateAuthority.init(pki)
    ca.issue(BROKER_IDENTITY, CertificateKind.SERVER)
    prepare_doms_pki(pki)
    clock = SimClock(START, speed=0)
    db = open_database(f"sqlite:///{tmp_path / 'market.db'}")
    migrate_market(db)
    app = create_app(MarketRepository(db), clock, hasher=FAST, operator_token_file=tmp_path / "operator.txt")
    market = app.state.market
    buyer = market.add_participant("dso", ["buyer"], name="DSO")
    seller = market.add_participant("aggregator", ["seller"], name="FMAN")
    broker = EmbeddedBroker(
        port=0,
        ssl_context=ssl_context_from_pki(pki, BROKER_IDENTITY),
        authorizer=AccessPolicyAuthorizer(AccessPolicy(doms_grants())),
    )
    directory = scenario(tmp_path)
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(db.close)
        await stack.enter_async_context(broker)
        url = await stack.enter_async_context(serve(app, "127.0.0.1", 0))
        api = f"{url}/api/v1"
        as_seller = await stack.enter_async_context(
            httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {seller}"})
        )
        for k in range(8):
            answer = await as_seller.post(
                "/orders/sell", json={"flexOffer": dump_offer(bid(k))}, headers={"Idempotency-Key": f"b{k}"}
            )
            assert answer.json()["status"] == "accepted", answer.text
        as_buyer = await stack.enter_async_context(
            httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {buyer}"})
        )
        operator = (tmp_path / "operator.txt").read_text(encoding="utf-8").strip()
        as_operator = await stack.enter_async_context(
            httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {operator}"})
        )
        broker_url = f"mqtts://localhost:{broker.port}"
        endpoint = open_endpoint(pki=pki, broker_url=broker_url, outbox=tmp_path / "grid-outbox.db", clock=clock)
        options = LiveOptions(
            broker_url=broker_url,
            pki=pki,
            scenario=directory,
            token_file=tmp_path / "doms-token.txt",
            port=0,
            settings=DomsSettings(scale=SCALE),
            hasher=FAST,
        )
        await stack.enter_async_context(endpoint)
        live = await stack.enter_async_context(live_doms(options, clock, as_buyer))
        await endpoint.wait_connected(10.0)
        await live.subscription.wait_ready(10.0)
        replay = ScenarioReplay.read(directory, scale=SCALE)
        token = (tmp_path / "doms-token.txt").read_text(encoding="utf-8").strip()
        yield Rig(clock, live, GridMeter(replay, endpoint, clock), as_operator, token)


async def run_until(r: Rig, end_s: int) -> None:
    sleepers = r.clock.pending_sleepers
    meter = asyncio.create_task(r.meter.run())
    await r.until(lambda: r.clock.pending_sleepers > sleepers, "the meter to wait for its first interval")
    try:
        while r.clock.time() < end_s:
            await r.tick()
    finally:
        meter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await meter


@pytest.mark.slow
async def test_doms_buys_on_the_market_stops_on_a_stuck_feed_and_resumes(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await run_until(r, T0 + 210 * 60)  # 06:00 .. 09:30
        doms = r.doms
        assert doms.counters.points == 42
        placed = [p for p in doms.orders if p.order_id]
        assert placed, f"no buy order: {list(doms.decisions)[-3:]}"
        # every order is down, bought after the gate closure, priced at an expensive quarter's penalty
        for p in placed:
            assert p.order.direction == "down"
            assert p.order.first_slot * 900 >= p.order.decision_time_s + 300 + 900
            penalty = [250.0 if slot % 4 < 2 else 20.0 for slot in p.order.slots]
            assert p.order.max_price_eur_per_kwh == pytest.approx(sum(penalty) / len(penalty) / 1000)
        first = placed[0].order
        assert first.energy_kwh == (5.0, 5.0), "the book's 0.02 MW (5 kWh per quarter) for two quarters"
        assert [250.0 if slot % 4 < 2 else 20.0 for slot in first.slots] == [250.0, 250.0], "shed when expensive"
        # the stuck feed stopped DOMS: no order decided between the stop and the resumption
        stopped = [d for d in doms.decisions if d["stopped"]]
        assert stopped
        assert all("stuck" in d["reason"] for d in stopped)
        first_stop, last_stop = stopped[0]["time_s"], stopped[-1]["time_s"]
        assert not [p for p in doms.orders if first_stop <= p.order.decision_time_s <= last_stop]
        assert [p for p in placed if p.order.decision_time_s < first_stop], "bought before the stop"
        assert [p for p in placed if p.order.decision_time_s > last_stop], "bought again after the resumption"
        # the market matched DOMS's orders with the seller's bids (pay-as-bid: 0.05 EUR/kWh)
        trades = (await r.market.get("/trades")).json()["trades"]
        ours = {p.order_id for p in placed}
        assert [t for t in trades if t["buyOrderId"] in ours]
        assert {t["priceEurPerKwh"] for t in trades} == {0.05}


@pytest.mark.slow
async def test_the_state_api_needs_the_token_and_shows_imbalance_stop_and_orders(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await run_until(r, T0 + 115 * 60)  # into the stuck stretch (stopped after 4 equal values)
        async with httpx.AsyncClient(base_url=f"{r.live.url}/api/v1") as client:
            assert (await client.get("/health")).json() == {"status": "ok"}
            assert (await client.get("/state")).status_code == 401
            bad = await client.get("/state", headers={"Authorization": "Bearer nope"})
            assert bad.status_code == 401
            assert bad.json()["error"]["code"] == "unauthorised"
            auth = {"Authorization": f"Bearer {r.token}"}
            state = (await client.get("/state", headers=auth)).json()
            # 3 MW x 1 % short, plus the shed DOMS believes it made (the replayed load does not contain it)
            assert state["imbalanceNowMw"] > state["deadbandMw"]
            assert state["deadbandMw"] == pytest.approx(0.01)
            assert state["stopped"] is True
            assert "stuck" in state["reason"]
            assert state["orders"]
            decisions = (await client.get("/decisions", params={"limit": 5}, headers=auth)).json()
            assert decisions["count"] == 5
            assert decisions["decisions"][-1]["inputs"]["dayahead_mw"] == pytest.approx(0.75)
            assert decisions["decisions"][-1]["inputs"]["load_mw"] == pytest.approx(0.78)  # the stuck value
            assert (await client.get("/decisions", params={"limit": 0}, headers=auth)).status_code == 400


@dataclass
class SheddingFleet:
    """Ten registers of 2 kW; five switched off from 06:30 (the houses' response to a purchase)."""

    clock: SimClock
    registers: int = 10

    async def energy_kwh(self) -> dict[str, float]:
        t = self.clock.time()
        running = 2.0 * (t - T0) / 3600.0
        shed = 2.0 * (min(t, T0 + 30 * 60) - T0) / 3600.0
        return {f"r{i}": 50.0 + (shed if i < 5 else running) for i in range(self.registers)}


@pytest.mark.slow
async def test_the_meter_carries_the_houses_response_and_a_stuck_feed_stays_stuck(tmp_path: Path) -> None:
    # the closed loop of the demo: the load DOMS reads holds what the houses did (10 kW less from 06:30)
    async with rig(tmp_path) as r:
        replay = r.meter.replay
        r.meter = GridMeter(replay, r.meter.endpoint, r.clock, fleet=SheddingFleet(r.clock))
        await run_until(r, T0 + 105 * 60)  # 06:00 .. 07:45: the shed, then the stuck stretch from 07:30
        seen = {d["time_s"]: d["inputs"]["load_mw"] for d in r.doms.decisions}
        assert len(seen) == 21
        departure = {t: seen[t] - replay.row(t).load_mw for t in seen if t < STUCK[0]}
        before = [d for t, d in departure.items() if t < T0 + 30 * 60]
        after = [d for t, d in sorted(departure.items()) if t >= T0 + 30 * 60]
        assert before == pytest.approx([0.0] * len(before), abs=2e-6)
        assert after[0] == pytest.approx(-0.010, abs=2e-6), "10 kW less than the 20 kW mean"
        assert all(-0.010 - 2e-6 < d < 0 for d in after)
        assert after == sorted(after), "the mean follows the shed down"
        # a stuck feed repeats its value, whatever the houses do
        stuck = [v for t, v in sorted(seen.items()) if t >= STUCK[0]]
        assert len(stuck) == 3
        assert len(set(stuck)) == 1
        assert stuck[0] < 0.78  # the file's stuck 78 MW x 1 %, with the shed
        assert r.meter.response is not None
        assert r.meter.response.resets == 0
