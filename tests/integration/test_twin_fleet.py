"""The simulated pilot end to end (issue 3, "done when"): twin houses with their gateway programs, a broker, the
platform; a relay command from the HTTP API reaches a house, changes its physics, and shows in history.

The fleet is :class:`goflex.sim.TwinFleet` (physics + E450 frames on a pseudo-terminal + Z-Wave + relays + one
gateway program per house), the broker the embedded one (the demo's), the database SQLite, the clock simulated.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from goflex.broker.embedded import EmbeddedBroker, platform_authorizer, ssl_context_from_pki
from goflex.common import SimClock
from goflex.serve import Platform
from goflex.sim import FleetOptions, TwinFleet, prepare_pki
from goflex.sim.runner import BROKER_IDENTITY
from goflex.twin.fleet_generator import HouseType, make_house
from goflex.twin.house import HouseSpec, Load, Technology

PASSWORD = "twin-admin-password"
SPEED = 30.0  # simulated seconds per real second


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.1)


def boiler_houses() -> list[HouseSpec]:
    """Two houses with a resistive water heater (the second with a heat pump as well)."""
    rng = np.random.default_rng(7)
    boiler = HouseType(Technology.NONE, Technology.RESISTIVE, False, 1.0)
    heat_pump_and_boiler = HouseType(Technology.HEAT_PUMP, Technology.RESISTIVE, False, 1.0)
    return [make_house(1, boiler, rng), make_house(2, heat_pump_and_boiler, rng)]


def dhw_meter(spec: HouseSpec) -> int:
    """The Home Energy Meter whose clamps measure the water heater (house metadata)."""
    return next(c.power_meter for c in spec.clamps if c.load is Load.DHW)


async def history(http: httpx.AsyncClient, path: str, since: datetime, until_: datetime) -> list[dict[str, Any]]:
    response = await http.get(
        f"/history/{path}", params={"from": since.isoformat(), "to": until_.isoformat(), "max": 100000}
    )
    if response.status_code == 404 and "not found" in response.text:
        return []  # connected, but ingest has not stored the endpoint's @online model yet
    assert response.status_code == 200, response.text
    points: list[dict[str, Any]] = response.json()
    return points


async def test_an_api_relay_command_reaches_a_twin_house_and_changes_its_physics(tmp_path: Path) -> None:
    specs = boiler_houses()
    target = specs[0]
    assert target.dhw_relay is not None
    pki = prepare_pki(tmp_path, [s.name for s in specs])
    started = datetime.now(UTC)
    clock = SimClock(started, speed=SPEED)
    broker = EmbeddedBroker(
        port=0, ssl_context=ssl_context_from_pki(pki, BROKER_IDENTITY), authorizer=platform_authorizer()
    )
    async with broker:
        url = f"mqtts://localhost:{broker.port}"
        platform = Platform(
            db_url=f"sqlite:///{tmp_path / 'goflex.db'}",
            broker_url=url,
            pki_dir=pki,
            api_port=0,
            clock=clock,
            admin_password=PASSWORD,
        )
        await platform.start()
        fleet = TwinFleet(specs, FleetOptions(broker_url=url, pki_dir=pki, data_dir=tmp_path, days=2), clock)
        running = asyncio.create_task(fleet.run())
        try:
            async with httpx.AsyncClient(base_url=platform.api_url, auth=("admin", PASSWORD), timeout=10) as http:
                await until(lambda: _online(fleet, len(specs)), "every gateway to connect")
                state_path = f"{target.name}/gateway/relay{target.dhw_relay}State/datapoint"
                power_path = f"{target.name}/powerMeter-{dhw_meter(target)}/wattsTotal/datapoint"
                meter_path = f"{target.name}/SmartMeterTechnical/obis_1_0_1_7_0_255_2/datapoint"

                async def meter_stored() -> bool:
                    return bool(await history(http, meter_path, started, clock.now()))

                await until(meter_stored, "the smart meter's +P (read from the pty) in history")

                async def submeter_stored() -> bool:
                    return bool(await history(http, power_path, started, clock.now()))

                await until(submeter_stored, "the water heater's sub-meter in history")

                # The operator opens the water heater's relay (heating blocked), as DOMS would.
                commanded = clock.now()
                control = f"/data/{target.name}/gateway/relay{target.dhw_relay}Control/parameter"
                response = await http.put(control, params={"value": "false"})
                assert response.status_code < 300, response.text

                index = fleet.physics.index_of(target.name)

                async def relay_open_in_physics() -> bool:
                    return not bool(fleet.physics.relay_closed[index, target.dhw_relay - 1])

                await until(relay_open_in_physics, "the gateway to open the house's relay")

                async def state_reported() -> bool:
                    points = await history(http, state_path, commanded, clock.now())
                    return any(p["value"] is False for p in points)

                await until(state_reported, "relay state false in history")

                # Physics: with the relay open the element cannot draw, whatever the thermostat wants.
                tank = int(fleet.physics.layout.tank_of_house[index])
                energy_at_open = float(fleet.physics.tank_state.energy_in_j[tank])
                await clock.sleep(600)
                assert not bool(fleet.physics.tank_state.element_on[tank])
                assert float(fleet.physics.tank_state.energy_in_j[tank]) == pytest.approx(energy_at_open)

                # History: the water heater's sub-meter reads 0 W from shortly after the command on (the value in
                # force then, and every report since: the sampler sends power only when it changes, Table 2).
                blocked_from = commanded.timestamp() + 60
                points = await history(http, power_path, started, clock.now())
                before = [p for p in points if _epoch(p["time"]) <= blocked_from]
                since = [p for p in points if _epoch(p["time"]) > blocked_from]
                assert before, "the sub-meter reported nothing before the block"
                assert [p["value"] for p in before[-1:] + since] == [0] * (1 + len(since))

                # And the other house was left alone.
                other = fleet.physics.index_of(specs[1].name)
                assert bool(fleet.physics.relay_closed[other].all())
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await platform.stop()


async def _online(fleet: TwinFleet, n: int) -> bool:
    return fleet.online() == n


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
