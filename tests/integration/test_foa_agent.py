"""The Direct Control FOA against a real HTTP server, driving a twin house.

FMAN is served by :class:`FmanContractDouble`, a minimal FastAPI app implementing the FMAN section of the trading
contract that the agent uses (``POST /flexoffers`` with bearer token and ``Idempotency-Key``, ``POST /heartbeat``
with acks, ``POST /metering``), under a real uvicorn on a free port. It is a *contract double*: it decides the
outcome of each offer as the test asks (a schedule with every interruptible slot at zero, a rejection, or
silence), which the real FMAN only produces after a market match. The house is a :class:`FleetPhysics` twin
stepped by the agent's own clock (a steppable :class:`SimClock`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.cloudio.transport import ConnectionLost
from goflex.common import SimClock
from goflex.flex.foa.agent import AgentSettings, DirectControlAgent
from goflex.flex.foa.devices import Command, TwinHouses
from goflex.flex.foa.direct_control import ComfortSettings
from goflex.flex.foa.fman_client import FmanClient
from goflex.flex.foa.metering import EnergyRegister, interval_energies
from goflex.flex.foa.tcl import InterruptionLimits
from goflex.flex.json_codec import dump_schedule, parse_offer
from goflex.flex.model import FlexOffer, FlexOfferState, Schedule, ScheduleSlice
from goflex.twin.fleet import FleetPhysics
from goflex.twin.fleet_generator import HouseType, make_house
from goflex.twin.house import Technology
from goflex.twin.tank import TankStates
from tests.integration.mosquitto import free_port

TOKEN = "agent-token-for-tests"
T0 = datetime(2026, 1, 22, 4, 3, tzinfo=UTC)


@dataclass
class FmanContractDouble:
    """FMAN's agent-facing contract, with outcomes chosen by the test (see the module docstring)."""

    outcome: str = "schedule"  # "schedule" | "reject" | "silent"
    fail_first_posts: int = 0
    offers: dict[str, FlexOffer] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    posts: int = 0
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    acked: list[str] = field(default_factory=list)
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    metering: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        def refuse(status: int, code: str, message: str) -> JSONResponse:
            return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)

        def authorised(authorization: str | None) -> bool:
            return authorization == f"Bearer {TOKEN}"

        @app.post("/api/v1/flexoffers", status_code=201, response_model=None)
        async def submit(
            request: Request,
            authorization: str | None = Header(default=None),
            idempotency_key: str | None = Header(default=None),
        ) -> dict[str, Any] | JSONResponse:
            if not authorised(authorization):
                return refuse(401, "unauthorised", "Authorization: bearer token required")
            self.posts += 1
            if self.posts <= self.fail_first_posts:
                return refuse(503, "unavailable", "try again")  # the agent must retry with the same key
            if idempotency_key is None:
                return refuse(400, "missing_idempotency_key", "Idempotency-Key: header required")
            body = await request.body()
            if self.keys.get(idempotency_key, body.decode()) != body.decode():
                return refuse(409, "idempotency_key_reused", "Idempotency-Key: used with another body")
            self.keys[idempotency_key] = body.decode()
            offer = parse_offer(await request.json())
            self.offers[offer.id] = offer
            if self.outcome == "schedule":
                self.pending[offer.id] = {"flexOfferId": offer.id, "flexOfferSchedule": dump_schedule(interrupt(offer))}
            elif self.outcome == "reject":
                self.pending[offer.id] = {"flexOfferId": offer.id, "reason": "unmatched_at_deadline"}
            return {"id": offer.id, "state": "accepted", "reason": None, "message": None}

        @app.post("/api/v1/heartbeat", response_model=None)
        async def heartbeat(
            request: Request, authorization: str | None = Header(default=None)
        ) -> dict[str, Any] | JSONResponse:
            if not authorised(authorization):
                return refuse(401, "unauthorised", "Authorization: bearer token required")
            body = await request.json()
            self.heartbeats.append(body)
            for offer_id in body["ack"]:
                self.acked.append(offer_id)
                self.pending.pop(offer_id, None)
            items = list(self.pending.values())
            return {
                "schedules": [i for i in items if "flexOfferSchedule" in i],
                "rejected": [i for i in items if "reason" in i],
                "serverTime": "2026-01-22T00:00:00Z",
            }

        @app.post("/api/v1/metering", response_model=None)
        async def metering(
            request: Request, authorization: str | None = Header(default=None)
        ) -> dict[str, Any] | JSONResponse:
            if not authorised(authorization):
                return refuse(401, "unauthorised", "Authorization: bearer token required")
            body = await request.json()
            self.metering.append(body)
            total = sum(i["energyKwh"] for i in body["intervals"])
            return {"flexOfferId": body["flexOfferId"], "deliveredKwh": total}

        return app


def interrupt(offer: FlexOffer) -> Schedule:
    """Every interruptible (priced) slot at its lower bound, the others at their baseline."""
    assert offer.default_schedule is not None
    amounts = [
        s.energy_constraints[0].lower if s.tariff_constraint is not None else b.energy_amount
        for s, b in zip(offer.profile, offer.default_schedule.slices, strict=True)
    ]
    return Schedule(offer.start_after_time, tuple(ScheduleSlice(1, a) for a in amounts))


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


@dataclass
class Rig:
    agent: DirectControlAgent
    physics: FleetPhysics
    clock: SimClock
    double: FmanContractDouble
    house: str
    devices: FlakyDevices

    async def settle(self) -> None:
        """Wait (real time) until the agent sleeps again on the clock."""
        deadline = time.monotonic() + 10
        while self.clock.pending_sleepers < 1:
            assert time.monotonic() < deadline, "the agent did not go back to sleep"
            await asyncio.sleep(0.002)

    async def run_until(self, when: datetime, step_s: float = 60.0) -> None:
        while self.clock.now() < when:
            self.clock.advance(min(step_s, (when - self.clock.now()).total_seconds()))
            await self.settle()


@dataclass
class FlakyDevices:
    """The twin's relays behind a link that loses the next ``failures`` commands (the agent sees the error)."""

    twin: TwinHouses
    failures: int = 0

    async def apply(self, command: Command) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionLost("test: the broker did not confirm the @set")
        await self.twin.apply(command)


@contextlib.asynccontextmanager
async def rig(double: FmanContractDouble, start: datetime = T0, failures: int = 0) -> AsyncIterator[Rig]:
    spec = make_house(1, HouseType(Technology.NONE, Technology.RESISTIVE, False, 1.0), np.random.default_rng(0))
    assert (spec.devices.boiler_sensors, spec.tank_volume_l, spec.dhw_power_w) == (1, 400.0, 2000.0)
    physics = FleetPhysics([spec], start=start, seed=3, dt_s=10.0, days=1.0, detailed=False)
    # A tank at 48 C whose thermostat calls: its 2 kW element needs hours to reach the set point, so the heater
    # really runs when the interruption comes (and the comfort minimum of 40 C leaves room to interrupt).
    physics.tank_state = replace(TankStates.at(physics.tanks, 49.0, 48.0), heating=np.array([True]))
    clock = SimClock(start, speed=0)
    twin = TwinHouses(physics, clock)
    devices = FlakyDevices(twin, failures)
    settings = AgentSettings(
        limits=InterruptionLimits(max_slots=2, search_slots=8), comfort=ComfortSettings(tank_min_c=40.0)
    )
    async with served(double.app()) as url, FmanClient(url, TOKEN) as fman:
        agent = DirectControlAgent(
            houses=[spec], fman=fman, devices=devices, reader=twin, clock=clock, settings=settings
        )
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        r = Rig(agent, physics, clock, double, spec.name, devices)
        await r.settle()
        try:
            yield r
        finally:
            stop.set()
            clock.advance(3600)
            await asyncio.wait_for(task, 10)


async def test_a_schedule_stops_the_heater_for_the_interruption_and_is_metered() -> None:
    async with rig(FmanContractDouble(outcome="schedule")) as r:
        await r.run_until(T0 + timedelta(minutes=2))
        assert len(r.double.offers) == 1, "one offer for the house's one relay"
        offer = next(iter(r.double.offers.values()))
        assert offer.offered_by_id == r.house
        assert offer.state is FlexOfferState.OFFERED
        tracked = r.agent.offers[offer.id]
        assert tracked.life.state is FlexOfferState.ASSIGNED
        assert r.double.acked == [offer.id], "acknowledged at the next heartbeat, once"
        assert r.double.heartbeats[0]["ack"] == []
        # the interruption: from its start the relay is open and the element draws nothing
        start, end = tracked.interruption.start, tracked.interruption.end
        await r.run_until(start + timedelta(minutes=1))
        tank = int(r.physics.layout.tank_of_house[0])
        assert not r.physics.relay_closed[0, 0]
        energy_at_start = float(r.physics.tank_state.energy_in_j[tank])
        await r.run_until(end - timedelta(seconds=30))
        assert not r.physics.relay_closed[0, 0]
        assert float(r.physics.tank_state.energy_in_j[tank]) == energy_at_start
        assert r.physics.tank_state.heating[tank], "the thermostat calls for heat..."
        assert not r.physics.tank_state.element_on[tank], "...and the element does not run"
        await r.run_until(end + timedelta(minutes=2))
        assert r.physics.relay_closed[0, 0], "closed again after the interruption"
        # after the offer's last slot: metering, then executed
        await r.run_until(tracked.end + timedelta(minutes=3))
        assert tracked.life.state is FlexOfferState.EXECUTED
        (sent,) = [m for m in r.double.metering if m["flexOfferId"] == offer.id]
        assert len(sent["intervals"]) == len(offer.profile)
        metered = [i["energyKwh"] for i in sent["intervals"]]
        interrupted = metered[: int((end - start).total_seconds() // 900)]
        assert interrupted == [0.0] * len(interrupted)
        assert sum(metered[len(interrupted) :]) > 0.4, "the rebound: the element ran again after the interruption"
        assert offer.default_schedule is not None
        assert sum(s.energy_amount for s in offer.default_schedule.slices[: len(interrupted)]) > 0.1
        assert r.agent.counters.commands == 2


async def test_a_failed_command_is_sent_again_until_it_goes_through() -> None:
    async with rig(FmanContractDouble(outcome="schedule")) as r:
        await r.run_until(T0 + timedelta(minutes=2))
        tracked = next(iter(r.agent.offers.values()))
        start, end = tracked.interruption.start, tracked.interruption.end
        device = tracked.device_id
        await r.run_until(start - timedelta(seconds=10), step_s=10)
        r.devices.failures = 2  # the opening and its first retry are lost
        await r.run_until(start + timedelta(seconds=10), step_s=10)
        assert r.physics.relay_closed[0, 0], "the opening was lost"
        assert r.agent.undelivered[device].closed is False
        await r.run_until(start + timedelta(seconds=40), step_s=10)
        assert r.physics.relay_closed[0, 0], "the first retry (30 s later) was lost too"
        await r.run_until(start + timedelta(seconds=70), step_s=10)
        assert not r.physics.relay_closed[0, 0], "the second retry went through"
        assert (r.agent.counters.command_errors, r.agent.counters.command_retries) == (2, 2)
        assert r.agent.undelivered == {}
        await r.run_until(end + timedelta(minutes=1))
        assert r.physics.relay_closed[0, 0]
        assert r.agent.counters.commands == 2


async def test_a_lost_command_is_replaced_by_the_next_one_for_its_relay() -> None:
    async with rig(FmanContractDouble(outcome="schedule")) as r:
        await r.run_until(T0 + timedelta(minutes=2))
        tracked = next(iter(r.agent.offers.values()))
        start, end = tracked.interruption.start, tracked.interruption.end
        await r.run_until(start - timedelta(seconds=10), step_s=10)
        r.devices.failures = 10**6  # every opening attempt is lost...
        await r.run_until(end - timedelta(seconds=10), step_s=10)
        assert r.physics.relay_closed[0, 0]
        assert r.agent.counters.command_retries > 0
        r.devices.failures = 0  # ...until the closing is due: it replaces the opening, which is never sent
        await r.run_until(end + timedelta(minutes=2), step_s=10)
        assert r.physics.relay_closed[0, 0]
        assert r.agent.undelivered == {}
        assert r.agent.counters.commands == 1, "only the closing went through"


async def test_an_offer_leaves_fman_the_submission_margin_to_accept_it() -> None:
    # At 04:15:00 the slot boundary 30 min ahead is exactly 04:45: without a margin acceptBeforeTime would be now,
    # and FMAN would refuse the offer (deadline_passed) as soon as the request took any time at all.
    async with rig(FmanContractDouble(outcome="silent"), start=datetime(2026, 1, 22, 4, 15, tzinfo=UTC)) as r:
        await r.run_until(r.clock.now() + timedelta(minutes=1))
        (offer,) = r.double.offers.values()
        assert offer.accept_before_time - offer.creation_time >= timedelta(seconds=300)
        assert offer.start_after_time == datetime(2026, 1, 22, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("outcome", "reason"), [("reject", "unmatched_at_deadline"), ("silent", "unanswered_by_deadline")]
)
async def test_a_rejected_or_unanswered_offer_runs_the_baseline(outcome: str, reason: str) -> None:
    async with rig(FmanContractDouble(outcome=outcome)) as r:
        await r.run_until(T0 + timedelta(minutes=2))
        offer = next(iter(r.double.offers.values()))
        tracked = r.agent.offers[offer.id]
        await r.run_until(tracked.end + timedelta(minutes=1), step_s=120)
        assert tracked.life.state is FlexOfferState.REJECTED
        assert tracked.life.events[-1].reason == reason
        assert r.agent.counters.commands == 0
        assert bool(r.physics.relay_closed[0, 0])
        assert not r.double.metering


async def test_an_unavailable_fman_gets_the_same_offer_again_with_the_same_key() -> None:
    async with rig(FmanContractDouble(outcome="silent", fail_first_posts=1)) as r:
        await r.run_until(T0 + timedelta(minutes=3))
        assert r.double.posts == 2
        assert len(r.double.keys) == 1
        assert r.agent.counters.fman_unavailable == 1
        (tracked,) = r.agent.offers.values()
        assert tracked.life.state is FlexOfferState.ACCEPTED


async def test_comfort_wins_the_relay_closes_and_the_deviation_is_metered() -> None:
    async with rig(FmanContractDouble(outcome="schedule")) as r:
        await r.run_until(T0 + timedelta(minutes=2))
        (tracked,) = r.agent.offers.values()
        await r.run_until(tracked.interruption.start + timedelta(minutes=1))
        assert not r.physics.relay_closed[0, 0]
        tank = int(r.physics.layout.tank_of_house[0])
        # the household now wants hotter water than the tank has: out of band, the relay closes at once
        wall_c = float(r.physics.tank_state.wall_c[tank])
        r.agent.settings = replace(r.agent.settings, comfort=ComfortSettings(tank_min_c=wall_c + 1.0))
        await r.run_until(r.clock.now() + timedelta(minutes=1))
        assert r.physics.relay_closed[0, 0]
        assert r.agent.counters.overrides == 1
        assert r.agent.timeline.pending(tracked.device_id) == []
        await r.run_until(tracked.end + timedelta(minutes=3))
        assert tracked.life.state is FlexOfferState.EXECUTED
        assert tracked.life.events[-1].reason == "tank_below_minimum"
        (sent,) = r.double.metering
        assert sum(i["energyKwh"] for i in sent["intervals"]) > 0, "the heater ran: a deviation from the schedule"


async def _late_loop(steps_s: list[int]) -> None:
    """Run an offer to its metering while the agent wakes only when the clock jumps by ``steps_s`` (cycled)."""
    async with rig(FmanContractDouble(outcome="schedule")) as r:
        await r.run_until(T0 + timedelta(minutes=2))
        (tracked,) = r.agent.offers.values()
        assert tracked.life.state is FlexOfferState.ASSIGNED
        seen = TwinHouses(r.physics)  # the register as the agent saw it at each of its (late) wake-ups
        register = EnergyRegister()
        k = 0
        while tracked.life.state is FlexOfferState.ASSIGNED:
            assert r.clock.now() < tracked.end + timedelta(hours=1), "metered once a sample past the end is in"
            r.clock.advance(steps_s[k % len(steps_s)])
            k += 1
            await r.settle()
            for reg in (await seen.read(r.house)).registers:
                for sample in reg.samples:
                    register.add(sample)
        assert tracked.life.state is FlexOfferState.EXECUTED
        (sent,) = r.double.metering
        starts = [tracked.offer.start_after_time + i * timedelta(minutes=15) for i in range(len(tracked.offer.profile))]
        got = [(datetime.fromisoformat(i["start"]), i["energyKwh"]) for i in sent["intervals"]]
        assert [t for t, _ in got] == starts, "every slot of the offer, once"
        expected = interval_energies([register], starts, timedelta(minutes=15))
        assert [e for _, e in got] == pytest.approx([e for _, e in expected], abs=1e-9)
        total = register.energy_between(starts[0], tracked.end)
        assert total is not None
        assert sum(e for _, e in got) == pytest.approx(total, abs=1e-9)
        assert r.agent.counters.metering_incomplete == 0


@settings(max_examples=6, deadline=None)
@given(st.lists(st.integers(45, 1500), min_size=1, max_size=30))
def test_a_loop_that_wakes_late_still_meters_every_slot(steps_s: list[int]) -> None:
    # At x600 the loop wakes minutes of simulated time late and misses slot boundaries; the register is
    # interpolated at each boundary between the samples around it, so the metering stays complete.
    asyncio.run(_late_loop(steps_s))
