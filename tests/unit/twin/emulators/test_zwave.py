"""Emulated Z-Wave devices: irregular report intervals within each product's range (seed Appendix 4), reports
on change, reproducible for a seed."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.common import SimClock
from goflex.twin.emulators import DeviceReading, EmulatedRelayBoard, EmulatedZWave, TankHouse, ZWaveDevices
from goflex.twin.signals import HouseSnapshot

START = datetime(2026, 1, 5, tzinfo=UTC)


def base_snapshot() -> HouseSnapshot:
    return TankHouse("goflex-dc-001", SimClock(START, speed=0)).snapshot()


def run(devices: ZWaveDevices, snapshot: HouseSnapshot, t0: float, hours: float) -> list[tuple[float, DeviceReading]]:
    out = []
    t = t0
    while t < t0 + hours * 3600:
        t = devices.next_wakeup_s()
        out += [(t, r) for r in devices.poll(snapshot, t)]
    return out


def intervals(trace: list[tuple[float, DeviceReading]], node: str, obj: str) -> list[float]:
    times = [t for t, r in trace if r.node == node and r.obj == obj]
    return [b - a for a, b in itertools.pairwise(times)]


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32))
def test_steady_house_reports_within_each_products_interval(seed: int) -> None:
    snapshot = base_snapshot()
    t0 = snapshot.time_s
    trace = run(ZWaveDevices(snapshot, t0, random.Random(seed)), snapshot, t0, 6)
    ambient = intervals(trace, "ambientSensor-1", "temperature")
    boiler = intervals(trace, "boilerSensor-1", "temperature")
    hem = intervals(trace, "powerMeter-1", "wattsTotal")
    assert ambient
    assert all(300 <= d <= 600 + 1e-6 for d in ambient)
    assert boiler
    assert all(600 <= d <= 1800 + 1e-6 for d in boiler)
    assert hem
    assert all(14 <= d <= 16 + 1e-6 for d in hem)
    assert len(set(ambient)) > 1  # irregular


def test_a_change_beyond_half_a_kelvin_is_reported_before_the_interval() -> None:
    snapshot = base_snapshot()
    t0 = snapshot.time_s
    devices = ZWaveDevices(snapshot, t0, random.Random(1))
    trace = run(devices, snapshot, t0, 0.5)
    changed_at = max(t for t, _ in trace)  # the tank warms by 0.6 K now
    hot = replace(snapshot, tank_wall_c=(snapshot.tank_wall_c[0] + 0.6,))
    reported_at = None
    while reported_at is None:
        t = devices.next_wakeup_s()
        if any(r.node == "boilerSensor-1" for r in devices.poll(hot, t)):
            reported_at = t
    # reported at the next change check (every 30 s), not at the next periodic report (10-30 min)
    assert reported_at - changed_at <= 30.0 + 1e-6


def test_same_seed_same_reports_and_hem_values_add_up() -> None:
    snapshot = base_snapshot()
    a = run(ZWaveDevices(snapshot, 0.0, random.Random(7)), snapshot, 0.0, 1)
    b = run(ZWaveDevices(snapshot, 0.0, random.Random(7)), snapshot, 0.0, 1)
    assert a == b
    hem_t = min(t for t, r in a if r.node == "powerMeter-1")
    first = {r.obj: r.value for t, r in a if r.node == "powerMeter-1" and t == hem_t}
    clamps = snapshot.clamps[0]
    assert first["wattsTotal"] == round(sum(c.power_w for c in clamps), 2)
    assert first["kWhTotal"] == round(sum(c.energy_kwh for c in clamps), 3)


async def test_emulated_network_yields_batches_on_a_clock() -> None:
    clock = SimClock(START, speed=2000)
    house = TankHouse("goflex-dc-001", clock)
    network = EmulatedZWave(house, clock, rng=random.Random(3))
    batches = []
    async for batch in network.readings():
        batches.append(batch)
        if len(batches) == 5:
            break
    nodes = {r.node for batch in batches for r in batch}
    assert "powerMeter-1" in nodes
    assert all(len({(r.node, r.obj) for r in batch}) == len(batch) for batch in batches)


def test_relay_board_drives_the_house() -> None:
    clock = SimClock(START, speed=0)
    house = TankHouse("goflex-dc-001", clock)
    board = EmulatedRelayBoard(house)
    board.set_relay(1, False)
    assert board.relay_closed(1) is False
    assert house.snapshot().relay_closed == (False, True)
    house.set_switch_auto(False)
    assert board.switch_auto() is False
