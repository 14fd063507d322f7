"""The E450 emulator's pushes: real frames that goflex.dlms decodes back to the house's registers."""

from __future__ import annotations

from datetime import UTC, datetime

from goflex.common import SimClock
from goflex.dlms import PushDecoder
from goflex.twin.emulators import E450Emulator, TankHouse, build_push, register_values
from goflex.twin.emulators.e450 import BILLING_OBJECTS, ENERGY_OBJECTS, TECHNICAL_OBJECTS

START = datetime(2026, 1, 5, 6, tzinfo=UTC)


def test_frames_decode_to_the_snapshot_registers() -> None:
    clock = SimClock(START, speed=0)
    house = TankHouse("goflex-dc-001", clock, seed=5)
    clock.advance(3600)
    meter = house.snapshot().meter
    registers = register_values(meter)
    emulator = E450Emulator(house, clock)
    for objects in (TECHNICAL_OBJECTS, ENERGY_OBJECTS, BILLING_OBJECTS):
        push = build_push("LGZ1030653520967", clock.time(), registers, objects)
        frames = emulator.frames(push)
        assert all(f[0] == 0x7E and f[-1] == 0x7E for f in frames)
        decoded = PushDecoder(model="e450").feed(b"".join(frames))
        assert decoded == [push]
    assert registers["1-1:1.8.0"] == round(meter.active_import_wh)
    assert registers["1-0:1.7.0"] == round(meter.power_import_w)


def test_energy_registers_grow_with_the_heater() -> None:
    clock = SimClock(START, speed=0)
    house = TankHouse("goflex-dc-001", clock, seed=2)
    before = house.snapshot()
    clock.advance(6 * 3600)
    after = house.snapshot()
    # base load alone is 400 W for 6 h = 2.4 kWh; the heater adds what it consumed.
    grown_wh = after.meter.active_import_wh - before.meter.active_import_wh
    heater_wh = (after.clamps[0][0].energy_kwh - before.clamps[0][0].energy_kwh) * 1000
    assert abs(grown_wh - (2400 + heater_wh)) < 2


def test_e360_model_frames() -> None:
    clock = SimClock(START, speed=0)
    house = TankHouse("goflex-dc-001", clock)
    emulator = E450Emulator(house, clock, model="e360")
    push = build_push("LGZ1", clock.time(), register_values(house.snapshot().meter), ENERGY_OBJECTS)
    frames = emulator.frames(push)
    assert len(frames) == 1
    assert PushDecoder(model="e360").feed(frames[0]) == [push]
    assert emulator.bytes_per_s == 960.0
