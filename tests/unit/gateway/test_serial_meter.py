"""The meter path through a real pseudo-terminal: the E450 emulator writes HDLC frames at the line rate, the
gateway's SerialMeter (pyserial, the hardware code path) reads and decodes the very pushes that were sent."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from goflex.cloudio.backoff import Backoff
from goflex.common import SimClock
from goflex.dlms import Push
from goflex.gateway.serial_meter import SerialMeter, SerialSettings
from goflex.twin.emulators import E450Emulator, TankHouse
from goflex.twin.emulators.e450 import ENERGY_OBJECTS, TECHNICAL_OBJECTS

START = datetime(2026, 1, 5, 6, tzinfo=UTC)


async def collect(meter: SerialMeter, n: int, timeout_s: float = 10.0) -> list[Push]:
    got: list[Push] = []

    async def read() -> None:
        async for push in meter.pushes():
            got.append(push)
            if len(got) >= n:
                return

    await asyncio.wait_for(read(), timeout_s)
    return got


async def test_pushes_written_into_the_pty_are_decoded_by_the_serial_meter() -> None:
    clock = SimClock(START, speed=20)
    house = TankHouse("goflex-dc-001", clock, seed=3)
    with E450Emulator(house, clock) as meter_twin:
        reader = SerialMeter(meter_twin.device, clock=clock, settings=SerialSettings(2400, 8, "E", 1))
        sent: list[Push] = []

        async def push_some() -> None:
            await asyncio.sleep(0.05)  # let the reader open the port (opening flushes the input, as on a real line)
            for objects in (TECHNICAL_OBJECTS, ENERGY_OBJECTS, TECHNICAL_OBJECTS):
                sent.append(await meter_twin.push_now(objects))

        writer = asyncio.create_task(push_some())
        received = await collect(reader, 3)
        await writer
    assert received == sent
    assert set(received[0].values) == set(TECHNICAL_OBJECTS)
    assert reader.opens == 1
    assert meter_twin.dropped_bytes == 0


async def test_the_line_is_paced_at_2400_baud_8e1() -> None:
    clock = SimClock(START, speed=10)
    house = TankHouse("goflex-dc-001", clock)
    with E450Emulator(house, clock, chunk_bytes=16) as meter_twin:
        reader = SerialMeter(meter_twin.device, clock=clock)

        async def push() -> tuple[Push, float]:
            await asyncio.sleep(0.05)
            t0 = clock.time()
            sent = await meter_twin.push_now(TECHNICAL_OBJECTS)
            return sent, clock.time() - t0

        (sent, elapsed), received = await asyncio.gather(push(), collect(reader, 1))
    line_s = meter_twin.written_bytes * 11 / 2400  # 11 bits per byte at 8E1 [simulated s]
    assert received == [sent]
    assert line_s * 0.95 <= elapsed <= line_s * 1.5


async def test_unplug_and_replug_reopens_the_device(tmp_path: Path) -> None:
    clock = SimClock(START, speed=1)
    house = TankHouse("goflex-dc-001", clock)
    link = tmp_path / "ttyMeter"  # like /dev/serial/by-id/...: a stable name for whatever device is plugged in
    first = E450Emulator(house, clock, pace=False)
    os.symlink(first.open(), link)
    reader = SerialMeter(str(link), clock=clock, backoff=Backoff(0.02, 0.1))
    got: list[Push] = []

    async def read() -> None:
        async for push in reader.pushes():
            got.append(push)

    task = asyncio.create_task(read())
    try:
        await asyncio.sleep(0.1)
        await first.push_now()
        await eventually(lambda: len(got) == 1)
        first.close()  # unplugged
        await asyncio.sleep(0.2)
        second = E450Emulator(house, clock, pace=False)
        link.unlink()
        os.symlink(second.open(), link)  # plugged in again (a new tty behind the same name)
        await eventually(lambda: reader.opens == 2)
        await asyncio.sleep(0.05)
        await second.push_now()
        await eventually(lambda: len(got) == 2)
        second.close()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [p.device for p in got] == ["LGZ1030653520967"] * 2


async def eventually(check: object, timeout_s: float = 5.0) -> None:
    assert callable(check)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_descriptors_beyond_select_range_still_read() -> None:
    # A fleet of simulated gateways in one process holds thousands of descriptors; select() refuses those
    # >= 1024 (docs/benchmarks.md), so the meter must not depend on it.
    import resource  # noqa: PLC0415

    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        pytest.skip(f"RLIMIT_NOFILE {soft} is below what this test needs")
    fillers = [os.open(os.devnull, os.O_RDONLY) for _ in range(1030)]
    try:
        clock = SimClock(START, speed=50)
        house = TankHouse("goflex-dc-001", clock)
        with E450Emulator(house, clock, pace=False) as meter_twin:
            reader = SerialMeter(meter_twin.device, clock=clock)

            async def push_one() -> Push:
                await asyncio.sleep(0.05)
                return await meter_twin.push_now()

            sent, received = await asyncio.gather(push_one(), collect(reader, 1))
    finally:
        for fd in fillers:
            os.close(fd)
    assert received == [sent]


async def test_a_corrupted_push_is_rejected_logged_and_the_good_ones_around_it_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = SimClock(START, speed=50)
    house = TankHouse("goflex-dc-001", clock, seed=3)
    with E450Emulator(house, clock, pace=False) as meter_twin:
        reader = SerialMeter(meter_twin.device, clock=clock)
        sent: list[Push] = []

        async def push_some() -> None:
            await asyncio.sleep(0.05)
            sent.append(await meter_twin.push_now())
            frames = meter_twin.frames(sent[0])
            broken = bytearray(frames[1])
            broken[20] ^= 0x01  # one flipped bit on the line: the frame check fails
            await meter_twin.write(b"".join([frames[0], bytes(broken), *frames[2:]]))
            sent.append(await meter_twin.push_now())

        writer = asyncio.create_task(push_some())
        received = await collect(reader, 2)
        await writer
    assert received == [sent[0], sent[1]]  # the broken push is gone, the next one decoded
    assert any("rejected (bad_crc)" in r.getMessage() for r in caplog.records)
