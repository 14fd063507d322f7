"""A received schedule becomes relay ``@set`` through the IoT layer, and the twin house's heater really stops.

The house is a :class:`goflex.sim.TwinFleet` house (physics, emulated devices and the real gateway program with its
fail-safe) on the embedded broker; the FOA is a cloud.iO application ``foa`` with WRITE on the house (its only
grants, deny by default). The schedule interrupts the water heater for the first slot of an offer whose baseline
needs the heater; :func:`relay_plan` turns it into commands, :class:`CloudioHouses` publishes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from goflex.broker.acl import AccessPolicy, EndpointPermission, grants_for_application
from goflex.broker.embedded import EmbeddedBroker, ssl_context_from_pki
from goflex.broker.embedded.runner import AccessPolicyAuthorizer
from goflex.cloudio.application import Application
from goflex.common import SimClock
from goflex.flex.foa.devices import relay_device_id
from goflex.flex.foa.execution import relay_plan
from goflex.flex.foa.framing import OfferTiming, SliceSpec, build_offer, slot_floor
from goflex.flex.foa.iot_devices import CloudioHouses
from goflex.flex.model import Schedule, ScheduleSlice
from goflex.pki.authority import CertificateAuthority
from goflex.pki.names import CertificateKind
from goflex.sim import FleetOptions, TwinFleet, prepare_pki
from goflex.sim.runner import BROKER_IDENTITY
from goflex.twin.fleet_generator import HouseType, make_house
from goflex.twin.house import Technology
from goflex.twin.tank import TankStates

SPEED = 120.0


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_schedule_becomes_relay_set_and_the_twin_heater_stops(tmp_path: Path) -> None:
    spec = make_house(1, HouseType(Technology.NONE, Technology.RESISTIVE, False, 1.0), np.random.default_rng(0))
    assert spec.dhw_relay is not None
    pki = prepare_pki(tmp_path, [spec.name])
    CertificateAuthority.load(pki).issue("foa", CertificateKind.APPLICATION)
    grants = grants_for_application("foa", spec.name, EndpointPermission.WRITE)
    broker = EmbeddedBroker(
        port=0,
        ssl_context=ssl_context_from_pki(pki, BROKER_IDENTITY),
        authorizer=AccessPolicyAuthorizer(AccessPolicy(grants)),
    )
    clock = SimClock(datetime.now(UTC), speed=SPEED)
    async with broker:
        url = f"mqtts://localhost:{broker.port}"
        fleet = TwinFleet([spec], FleetOptions(broker_url=url, pki_dir=pki, data_dir=tmp_path, days=1), clock)
        # the tank's thermostat calls and its 2 kW element needs hours: the heater runs unless the relay is open
        physics = fleet.physics
        physics.tank_state = replace(TankStates.at(physics.tanks, 49.0, 48.0), heating=np.array([True]))
        tank = int(physics.layout.tank_of_house[0])
        running = asyncio.create_task(fleet.run())
        app = Application(
            "foa",
            broker=url,
            ca_file=pki / "ca.crt",
            cert_file=pki / "foa.crt",
            key_file=pki / "foa.key",
            clock=clock,
        )
        try:
            async with app:
                houses = CloudioHouses(app, [spec], clock)
                await houses.start()

                async def online() -> bool:
                    return fleet.online() == 1

                await until(online, "the gateway to connect")

                async def reading() -> bool:
                    return (await houses.read(spec.name)).tank_c is not None

                await until(reading, "the tank probe's first @update")
                # an offer whose first slot (now) is interruptible; the schedule takes it to zero
                start = slot_floor(clock.now())
                baseline_kwh = 0.5
                offer = build_offer(
                    offer_id="o-1",
                    offered_by_id=spec.name,
                    timing=OfferTiming(start - timedelta(hours=1)),
                    start=start,
                    slices=[SliceSpec(0.0, baseline_kwh, baseline_kwh, 0.06, 0.06), SliceSpec(0.0, 1.0, 0.5)],
                )
                schedule = Schedule(start, (ScheduleSlice(1, 0.0), ScheduleSlice(1, 1.0)))
                device = relay_device_id(spec.name, spec.dhw_relay)
                opening, closing = relay_plan(device, offer, schedule)
                assert (opening.closed, closing.closed) == (False, True)
                assert closing.at == start + timedelta(minutes=15)
                await houses.apply(opening)

                async def relay_open() -> bool:
                    return not bool(physics.relay_closed[0, spec.dhw_relay - 1])

                await until(relay_open, "the gateway to open the relay")
                energy = float(physics.tank_state.energy_in_j[tank])
                await clock.sleep(300)  # five simulated minutes
                assert bool(physics.tank_state.heating[tank]), "the thermostat calls for heat..."
                assert not bool(physics.tank_state.element_on[tank]), "...and the element does not run"
                assert float(physics.tank_state.energy_in_j[tank]) == energy

                async def state_reported() -> bool:
                    return not (await houses.read(spec.name)).relay_closed[spec.dhw_relay - 1]

                await until(state_reported, "the gateway to report the relay open")
                await houses.apply(closing)

                async def heating_again() -> bool:
                    return float(physics.tank_state.energy_in_j[tank]) > energy

                await until(heating_again, "the element to run again once the relay is closed")
                assert houses.commands == 2
                await houses.stop()
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
