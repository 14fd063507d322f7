"""The trading chain end to end (issue 4 section 6): DSO -> FMAR <- FMAN <- FOA -> twin house, and back.

All three services are the real ones: the market (:mod:`goflex.flex.fmar`) and FMAN (:mod:`goflex.flex.fman`) each
on a real uvicorn with its own SQLite file (or one PostgreSQL database), the Direct Control FOA
(:class:`~goflex.flex.foa.agent.DirectControlAgent`) talking to FMAN over HTTP and driving a twin house through
:class:`~goflex.flex.foa.devices.TwinHouses`. They are wired by :class:`goflex.demo.trading.TradingChain` (what the
demo runs) and share one steppable SimClock: the test moves it a minute at a time and waits until every service's
loop sleeps again, so a morning of trading takes a few real seconds and nothing depends on the machine's speed.

The DSO is the test itself (a ``buyer`` participant posting ``/orders/buy``), so it can check every figure by hand.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from argon2 import PasswordHasher

from goflex.common.clock import SimClock
from goflex.demo.trading import TradingChain, TradingOptions
from goflex.flex.fman.bids import BidPricing
from goflex.flex.fman.settings import FmanSettings
from goflex.flex.fmar.market import MarketSettings
from goflex.flex.foa.agent import AgentSettings, TrackedOffer
from goflex.flex.foa.devices import TwinHouses
from goflex.flex.foa.direct_control import ComfortSettings
from goflex.flex.foa.tcl import InterruptionLimits
from goflex.flex.model import FlexOfferState
from goflex.twin.fleet import FleetPhysics
from goflex.twin.fleet_generator import HouseType, make_house
from goflex.twin.house import Technology
from goflex.twin.tank import TankStates

T0 = datetime(2026, 1, 22, 4, 3, tzinfo=UTC)
FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
SLOT = timedelta(minutes=15)
FOA_PRICE = 0.05  # EUR/kWh the house asks for not consuming; FMAN's own down cost is lower, so the bid asks this
MAX_PRICE = 0.10  # EUR/kWh the DSO pays at most
SLEEPERS = 3  # loops sleeping on the clock between steps: the FOA, FMAN's bid/pull loop, FMAR's deadline task


@dataclass
class World:
    chain: TradingChain
    clock: SimClock
    physics: FleetPhysics
    house: str
    dso: httpx.AsyncClient
    fman_at_fmar: httpx.AsyncClient
    foa_at_fman: httpx.AsyncClient

    async def settle(self) -> None:
        """Wait (real time) until every loop sleeps on the clock again."""
        deadline = time.monotonic() + 10
        while self.clock.pending_sleepers < SLEEPERS:
            self.chain.check()
            assert time.monotonic() < deadline, f"only {self.clock.pending_sleepers} loops went back to sleep"
            await asyncio.sleep(0.002)

    async def run_until(self, when: datetime, step_s: float = 60.0) -> None:
        while self.clock.now() < when:
            self.clock.advance(min(step_s, (when - self.clock.now()).total_seconds()))
            await self.settle()

    async def wait_for(self, what: str, check: Callable[[], bool], limit: timedelta) -> None:
        end = self.clock.now() + limit
        while not check():
            assert self.clock.now() < end, f"no {what} within {limit} of simulated time"
            await self.run_until(self.clock.now() + timedelta(seconds=60))

    @property
    def offer(self) -> TrackedOffer:
        assert self.chain.agent is not None
        (tracked,) = self.chain.agent.offers.values()
        return tracked


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    db_url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    spec = make_house(1, HouseType(Technology.NONE, Technology.RESISTIVE, False, 1.0), np.random.default_rng(0))
    physics = FleetPhysics([spec], start=T0, seed=3, dt_s=10.0, days=1.0, detailed=False)
    # A tank at 48 C whose thermostat calls: its 2 kW element needs hours to reach the set point, so the heater
    # really runs in every slot of the baseline and an interruption saves energy.
    physics.tank_state = replace(TankStates.at(physics.tanks, 49.0, 48.0), heating=np.array([True]))
    clock = SimClock(T0, speed=0)
    twin = TwinHouses(physics, clock)
    options = TradingOptions(
        directory=tmp_path,
        market_db_url=db_url,
        fman_db_url=db_url,  # FMAR and FMAN tables have their own prefixes and version tables
        market=MarketSettings(deadline_poll_s=60.0),
        fman=FmanSettings(pricing=BidPricing(0.04, 0.04, 300), bid_interval_s=60.0, pull_interval_s=30.0),
        agent=AgentSettings(
            limits=InterruptionLimits(max_slots=2, search_slots=8),
            comfort=ComfortSettings(tank_min_c=40.0),
            price_down_eur_per_kwh=FOA_PRICE,
        ),
        hasher=FAST,
    )
    async with (
        TradingChain(options, clock, houses=[spec], devices=twin, reader=twin) as chain,
        chain.client("dso") as dso,
        chain.client("fman@fmar") as fman_at_fmar,
        chain.client("foa@fman", service="fman") as foa_at_fman,
    ):
        world = World(chain, clock, physics, spec.name, dso, fman_at_fmar, foa_at_fman)
        await world.settle()
        yield world


async def bid_in_book(w: World) -> dict[str, Any]:
    """Step until FMAN's bid (the FOA's offer, aggregated) is in FMAR's book; returns it."""
    book: list[dict[str, Any]] = []
    for _ in range(10):
        book = (await w.dso.get("/orderbook")).json()["sell"]
        if book:
            break
        await w.run_until(w.clock.now() + timedelta(seconds=60))
    (bid,) = book
    return bid


def metered_intervals(w: World, tracked: TrackedOffer) -> list[tuple[datetime, float]]:
    """The relay's energy per slot of the offer as the FOA metered it (cumulative energy at slot boundaries)."""
    assert w.chain.agent is not None
    assert tracked.schedule is not None
    samples = w.chain.agent.samples[tracked.device_id]
    start, slots = tracked.schedule.start_time, len(tracked.offer.profile)
    return [(start + k * SLOT, samples[start + (k + 1) * SLOT] - samples[start + k * SLOT]) for k in range(slots)]


async def test_a_dso_buy_order_interrupts_the_heater_and_is_settled(world: World) -> None:
    w = world
    bid = await bid_in_book(w)
    tracked = w.offer
    offer, interruption = tracked.offer, tracked.interruption
    assert offer.offered_by_id == w.house
    assert offer.default_schedule is not None
    n_cut = int((interruption.end - interruption.start) / SLOT)
    assert interruption.start == offer.start_after_time, "the offer starts with its interruption"
    baseline = [s.energy_amount for s in offer.default_schedule.slices]
    assert min(baseline[:n_cut]) > 0.1, "the heater would run in the interrupted slots"
    assert tracked.life.state is FlexOfferState.ACCEPTED

    # The DSO buys the whole baseline of the interruptible slots, down, at up to 0.10 EUR/kWh.
    slots = [
        {"start": f"{interruption.start + k * SLOT:%Y-%m-%dT%H:%M:%SZ}", "energyKwh": baseline[k]} for k in range(n_cut)
    ]
    body = {
        "direction": "down",
        "locationId": None,
        "maxPriceEurPerKwh": MAX_PRICE,
        "slots": slots,
        "allowPartial": True,
    }
    order = await w.dso.post("/orders/buy", json=body, headers={"Idempotency-Key": "dso-1"})
    assert order.status_code == 201, order.text
    assert order.json()["status"] == "accepted", order.text
    trades = (await w.dso.get("/trades")).json()["trades"]
    # pay-as-bid: FMAN's bid asks the member's price (0.05 > its own 0.04), under the DSO's 0.10
    assert sorted((t["slotStart"], t["direction"], t["energyKwh"], t["priceEurPerKwh"]) for t in trades) == [
        (s["start"], "down", pytest.approx(s["energyKwh"]), FOA_PRICE) for s in slots
    ]

    # FMAR fixes the schedule (fully used, or at the bid's deadline), FMAN disaggregates, the FOA gets it.
    await w.wait_for("schedule at the FOA", lambda: tracked.life.state is FlexOfferState.ASSIGNED, timedelta(hours=1))
    assert w.clock.now() < offer.assignment_before_time, "delivered before the offer's deadline"
    assert tracked.schedule is not None
    member_schedule = [s.energy_amount for s in tracked.schedule.slices]
    assert member_schedule[:n_cut] == pytest.approx([0.0] * n_cut), "the interrupted slots are scheduled at zero"
    assert member_schedule[n_cut:] == pytest.approx(baseline[n_cut:]), "the rest stays at the baseline"
    fmar_order = (await w.fman_at_fmar.get(f"/orders/{bid['orderId']}")).json()
    assert fmar_order["status"] == "scheduled", fmar_order

    # The relay opens at the interruption and the heater's energy stays flat while its thermostat calls.
    tank = int(w.physics.layout.tank_of_house[0])
    await w.run_until(interruption.start + timedelta(minutes=1))
    assert not w.physics.relay_closed[0, 0]
    energy_j = float(w.physics.tank_state.energy_in_j[tank])
    await w.run_until(interruption.end - timedelta(seconds=30))
    assert float(w.physics.tank_state.energy_in_j[tank]) == energy_j
    assert w.physics.tank_state.heating[tank], "the thermostat calls for heat..."
    assert not w.physics.tank_state.element_on[tank], "...and the element does not run"
    await w.run_until(interruption.end + timedelta(minutes=2))
    assert w.physics.relay_closed[0, 0], "closed again after the interruption"

    # After the offer's last slot the FOA meters to FMAN; the FMAN account shows the numbers.
    await w.run_until(tracked.end)
    await w.wait_for("metering", lambda: tracked.life.state is FlexOfferState.EXECUTED, timedelta(minutes=5))
    metered = metered_intervals(w, tracked)
    energy = [kwh for _, kwh in metered]
    assert energy[:n_cut] == [0.0] * n_cut, "nothing consumed while interrupted"
    sold_kwh = sum(baseline[:n_cut])
    # FMAN forwards the bid's metering (its one member's) to FMAR and keeps the market's settlement.
    settlements: list[dict[str, Any]] = []
    for _ in range(10):
        settlements = (await w.dso.get("/settlements", params={"orderId": bid["orderId"]})).json()["settlements"]
        if settlements:
            break
        await w.run_until(w.clock.now() + timedelta(seconds=60))
    assert settlements, "FMAN did not forward the metering to FMAR"
    (s,) = settlements
    imbalance = sum(abs(e - m) for e, m in zip(energy, member_schedule, strict=True))
    assert s["status"] == "settled"
    assert s["deliveredKwh"] == pytest.approx(sum(energy))
    assert s["deliveredDeviationKwh"] == pytest.approx(sold_kwh)
    assert s["paymentEur"] == pytest.approx(FOA_PRICE * sold_kwh)
    assert s["imbalanceKwh"] == pytest.approx(imbalance)
    assert s["imbalanceFeeEur"] == pytest.approx(0.1 * max(0.0, imbalance - 1.0))
    order = (await w.fman_at_fmar.get(f"/orders/{bid['orderId']}")).json()
    assert order["status"] == "settled", order
    assert w.chain.fman_app is not None
    assert w.chain.fman_app.state.manager.counters["bids_settled"] == 1

    # The FMAN account, checked by hand: the share rule pays 0.8 of the market's settled payment.
    account = (await w.foa_at_fman.get(f"/accounts/{w.house}")).json()
    assert account["scheduledFlexKwh"] == pytest.approx(sold_kwh)
    assert account["deliveredFlexKwh"] == pytest.approx(sold_kwh), "all of it delivered (capped at the schedule)"
    assert account["remunerationEur"] == pytest.approx(0.8 * s["paymentEur"])


async def test_a_bid_unmatched_at_its_deadline_runs_the_baseline(world: World) -> None:
    w = world
    bid = await bid_in_book(w)
    tracked = w.offer
    await w.run_until(tracked.end + timedelta(minutes=5))
    assert tracked.life.state is FlexOfferState.REJECTED
    assert tracked.life.events[-1].reason == "unmatched_at_deadline", tracked.life.events
    order = (await w.fman_at_fmar.get(f"/orders/{bid['orderId']}")).json()
    assert (order["status"], order["events"][-1]["reason"]) == ("rejected", "unmatched_at_deadline")
    assert w.chain.agent is not None
    # later offers of the same relay (after its quiet time) meet the same empty market: baselines too
    assert w.chain.agent.counters.baselines == len(w.chain.agent.offers) - sum(
        t.life.state is not FlexOfferState.REJECTED for t in w.chain.agent.offers.values()
    )
    assert w.chain.agent.counters.commands == 0
    assert bool(w.physics.relay_closed[0, 0]), "the relay never opened: the heater ran its baseline"
    assert (await w.dso.get("/trades")).json()["trades"] == []
