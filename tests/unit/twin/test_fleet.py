"""FleetPhysics: house energy balance, relays and the On-Auto switch, snapshots per spec, determinism."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from goflex.twin.fleet import FleetError, FleetPhysics
from goflex.twin.fleet_generator import pilot_fleet
from goflex.twin.house import Load, Technology

START = datetime(2024, 1, 15, 4, tzinfo=UTC)
SPECS = pilot_fleet(40, seed=3)
HOURS = 4


def _run(*, seed: int = 1, open_relay: int | None = None, manual: bool = False, pattern: float = 600.0) -> FleetPhysics:
    fleet = FleetPhysics(SPECS, start=START, seed=seed, days=1)
    if open_relay is not None:
        fleet.port(open_relay).set_relay(1, False)
        fleet.port(open_relay).set_switch_auto(not manual)
    end = fleet.start_s + HOURS * 3600
    for t in np.arange(fleet.start_s + pattern, end, pattern):
        fleet.advance_to(float(t))
    fleet.advance_to(end)
    return fleet


@pytest.fixture(scope="module")
def free() -> FleetPhysics:
    return _run()


def test_meter_balance_equals_loads_minus_pv_per_house(free: FleetPhysics) -> None:
    base, dhw, sh, pv = free.house_energy_j.T
    metered_j = (free.meters.import_wh - free.meters.export_wh) * 3600.0
    assert np.allclose(metered_j, base + dhw + sh - pv, rtol=1e-3)
    assert np.allclose(free.meters.import_tariff_wh.sum(axis=1), free.meters.import_wh)
    lay = free.layout
    assert np.allclose(dhw[lay.tank_house], free.tank_state.energy_in_j, rtol=1e-9)
    assert np.allclose(sh[lay.sh_house], free.heating_state.energy_in_j, rtol=1e-9)
    # every heating system's clamps see all of its energy (seed 3.2.5.4 rule 4)
    for i, spec in enumerate(SPECS):
        rows = lay.clamp_house == i
        metered = {
            load: free.clamp_kwh[rows & (lay.clamp_load == k)].sum() * 3.6e6
            for k, load in enumerate((Load.SPACE_HEATING, Load.DHW, Load.COMMON, Load.PV))
        }
        if spec.common_system:
            assert metered[Load.COMMON] == pytest.approx(dhw[i] + sh[i], rel=1e-9, abs=1e-6)
        else:
            assert metered[Load.DHW] == pytest.approx(dhw[i], rel=1e-9, abs=1e-6)
            assert metered[Load.SPACE_HEATING] == pytest.approx(sh[i], rel=1e-9, abs=1e-6)
    assert free.meters.quadrants_varh.sum() > 0
    assert np.all((free.meters.voltage_v > 207) & (free.meters.voltage_v < 253))


def test_open_relay_stops_the_boiler_and_manual_switch_overrides_it(free: FleetPhysics) -> None:
    lay = free.layout
    boiler_only = [i for i in lay.tank_house if SPECS[i].space_heating is Technology.NONE]
    house = int(max(boiler_only, key=lambda i: free.house_energy_j[i, 1]))
    assert free.house_energy_j[house, 1] > 1e6  # it heated when free
    blocked = _run(open_relay=house)
    assert blocked.house_energy_j[house, 1] == 0.0
    assert blocked.port(house).snapshot().relay_closed[0] is False
    clamps = blocked.port(house).snapshot().clamps[0]
    assert all(c.power_w == 0.0 and c.energy_kwh == 0.0 for c in clamps)
    assert blocked.meters.import_wh[house] < free.meters.import_wh[house] - 250.0
    others = np.arange(len(SPECS)) != house
    assert np.array_equal(blocked.house_energy_j[others], free.house_energy_j[others])
    manual = _run(open_relay=house, manual=True)
    assert manual.house_energy_j[house, 1] == free.house_energy_j[house, 1]
    assert manual.port(house).snapshot().relay_closed[0] is True


def test_snapshots_show_the_sensors_of_the_spec(free: FleetPhysics) -> None:
    for i, spec in enumerate(SPECS):
        snap = free.port(spec.name).snapshot()
        assert len(snap.ambient_c) == spec.devices.ambient_sensors
        assert len(snap.tank_wall_c) == spec.devices.boiler_sensors
        assert len(snap.clamps) == spec.devices.power_meters
        assert snap.time_s == free.time_s
        assert snap.meter.active_import_wh == free.meters.import_wh[i]
    summary = free.summary()
    assert summary.houses == len(SPECS)
    assert summary.relays_open == 0
    assert 15.0 < summary.room_mean_c < 25.0
    assert 30.0 < summary.tank_mean_c < 70.0


def test_deterministic_for_a_seed_whatever_the_advance_pattern(free: FleetPhysics) -> None:
    other = _run(pattern=37.0)
    assert other.time_s == free.time_s
    for i in (0, 7, 21):
        assert other.port(i).snapshot() == free.port(i).snapshot()
    assert not np.array_equal(_run(seed=2).house_energy_j, free.house_energy_j)


def test_rejects_bad_calls(free: FleetPhysics) -> None:
    with pytest.raises(FleetError):
        free.port("goflex-dc-999")
    with pytest.raises(FleetError):
        free.port(0).set_relay(3, False)
    with pytest.raises(FleetError, match="horizon"):
        free.advance_to(free.start_s + 2 * 86400.0)
