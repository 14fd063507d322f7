"""The demo houses' registers as the grid meter reads them (goflex.demo.grid_meter.HousesEnergy)."""

from __future__ import annotations

from datetime import UTC, datetime

from goflex.demo.grid_meter import HousesEnergy
from goflex.flex.foa.devices import HouseReading, RegisterReading
from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.foa.metering import RegisterSample
from goflex.twin.fleet_generator import pilot_fleet

T = datetime(2026, 1, 22, 6, tzinfo=UTC)


class Readings:
    """House a with two phases behind relay 1, house b not read yet."""

    async def read(self, house: str) -> HouseReading:
        if house != "a":
            raise InvalidDeviceState("house", f"nothing read yet from {house!r}")
        registers = tuple(
            RegisterReading(1, f"powerMeter-1/kWhClamp{k}", (RegisterSample(T, 1.0), RegisterSample(T, 2.0 * k)))
            for k in (1, 2)
        )
        return HouseReading("a", T, None, None, {1: 6.0}, 0.0, (True, True), registers)


async def test_each_clamp_is_a_register_and_an_unread_house_is_left_out() -> None:
    energy = await HousesEnergy(Readings(), ["a", "b"], clamps=4).energy_kwh()
    assert energy == {"a/powerMeter-1/kWhClamp1": 2.0, "a/powerMeter-1/kWhClamp2": 4.0}


def test_the_fleet_counts_the_clamps_behind_relays_not_pv() -> None:
    specs = pilot_fleet(20, seed=1)
    energy = HousesEnergy.of(Readings(), specs)
    pv = sum(1 for s in specs for c in s.clamps if c.load.value == "pv")
    assert energy.clamps == sum(len(s.clamps) for s in specs) - pv
    assert energy.houses == [s.name for s in specs]
    assert energy.registers == energy.clamps
