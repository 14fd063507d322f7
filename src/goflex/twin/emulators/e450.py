"""A Landis+Gyr E450 on its Consumer Information Interface, emulated into a pseudo-terminal (seed 3.2.5.8).

The meter is push-only (meter-cii.md): three push setups, each with its own period and object list (seed
Table 3): *Technical* (instantaneous values, every ~5 s), *Energy* (energy totals and the clock, every 5 min)
and *Billing* (tariff registers). At each push the emulator takes a :class:`HouseSnapshot`, builds a
:class:`goflex.dlms.Push`, encodes it into real HDLC frames with :func:`goflex.dlms.encode_push` and writes them
into the master side of a pseudo-terminal at the line's rate (2400 baud, 8E1 = 11 bits per byte: ~218 bytes/s,
in simulated time). The gateway opens the slave side (:attr:`E450Emulator.device`) with pyserial exactly as it
opens the USB M-Bus adapter of a real house.

A meter never waits for its listener: when nobody reads and the pty's buffer is full, frames are dropped and
counted (:attr:`E450Emulator.dropped_bytes`).
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import tty
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from goflex.common import Clock
from goflex.dlms import E360_STYLE, E450_STYLE, Push, encode_push
from goflex.twin.signals import HousePort, MeterRegisters

# seed Table 3 push setups, as "1-0:1.7.0"-style keys (no trailing .255, as goflex.dlms.Push uses).
TECHNICAL_OBJECTS = (
    "1-0:1.7.0",
    "1-0:2.7.0",
    "1-0:3.7.0",
    "1-0:4.7.0",
    "1-0:31.7.0",
    "1-0:51.7.0",
    "1-0:71.7.0",
    "1-0:32.7.0",
    "1-0:52.7.0",
    "1-0:72.7.0",
)
ENERGY_OBJECTS = ("1-1:1.8.0", "1-1:2.8.0", "1-1:5.8.0", "1-1:6.8.0", "1-1:7.8.0", "1-1:8.8.0")
BILLING_OBJECTS = ("1-1:1.8.1", "1-1:1.8.2", "1-1:2.8.1", "1-1:2.8.2")


def register_values(m: MeterRegisters) -> dict[str, int | float]:
    """Every register of the meter, as the decoder reports them (W, Wh, var, varh, V; A to 0.01 A)."""
    return {
        "1-0:1.7.0": round(m.power_import_w),
        "1-0:2.7.0": round(m.power_export_w),
        "1-0:3.7.0": round(m.reactive_import_var),
        "1-0:4.7.0": round(m.reactive_export_var),
        "1-0:31.7.0": round(m.current_a[0], 2),
        "1-0:51.7.0": round(m.current_a[1], 2),
        "1-0:71.7.0": round(m.current_a[2], 2),
        "1-0:32.7.0": round(m.voltage_v[0]),
        "1-0:52.7.0": round(m.voltage_v[1]),
        "1-0:72.7.0": round(m.voltage_v[2]),
        "1-1:1.8.0": round(m.active_import_wh),
        "1-1:2.8.0": round(m.active_export_wh),
        "1-1:5.8.0": round(m.reactive_quadrants_varh[0]),
        "1-1:6.8.0": round(m.reactive_quadrants_varh[1]),
        "1-1:7.8.0": round(m.reactive_quadrants_varh[2]),
        "1-1:8.8.0": round(m.reactive_quadrants_varh[3]),
        "1-1:1.8.1": round(m.active_import_tariff_wh[0]),
        "1-1:1.8.2": round(m.active_import_tariff_wh[1]),
        "1-1:2.8.1": round(m.active_export_tariff_wh[0]),
        "1-1:2.8.2": round(m.active_export_tariff_wh[1]),
    }


def build_push(device: str, time_s: float, registers: Mapping[str, int | float], objects: tuple[str, ...]) -> Push:
    """One push of the given object list at ``time_s`` [s] (the meter's clock ticks in whole seconds)."""
    return Push(
        device=device,
        time=datetime.fromtimestamp(math.floor(time_s), UTC),
        values={key: registers[key] for key in objects},
    )


@dataclass(frozen=True)
class PushSchedule:
    """Periods of the three push setups [s] (seed Table 3; the billing push is daily here, see docs)."""

    technical_s: float = 5.0
    energy_s: float = 300.0
    billing_s: float = 86_400.0


class E450Emulator:
    """The house's meter writing real CII frames into a pseudo-terminal.

    Args:
        port: the house.
        clock: simulated time (pacing and push periods scale with its speed).
        device_name: the meter's logical device name (0-0:42.0.0).
        model: ``"e450"`` (2400 8E1, block transfer) or ``"e360"`` (9600 8N1, one long frame).
        schedule: push periods.
        chunk_bytes: bytes written at once; the line rate is kept between chunks. The default, 256, writes
            each HDLC frame (at most ~140 bytes for the E450) at once and then waits its time on the line: one
            clock sleep per frame keeps a fleet of emulators in one event loop cheap.
        pace: False writes each push at once (tests that only care about bytes).

    Use as a context manager or call :meth:`open` / :meth:`close`; :meth:`run` pushes until cancelled.
    """

    def __init__(
        self,
        port: HousePort,
        clock: Clock,
        *,
        device_name: str = "LGZ1030653520967",
        model: str = "e450",
        schedule: PushSchedule | None = None,
        chunk_bytes: int = 256,
        pace: bool = True,
    ) -> None:
        if model not in ("e450", "e360"):
            raise ValueError(f"model must be e450 or e360, got {model!r}")
        self._port = port
        self._clock = clock
        self.device_name = device_name
        self.model = model
        self.schedule = schedule or PushSchedule()
        # 8E1 = start + 8 data + parity + stop = 11 bits per byte; 8N1 = 10 (meter-cii.md "Link").
        self.bytes_per_s = 2400 / 11 if model == "e450" else 9600 / 10
        self._chunk = max(1, chunk_bytes)
        self._pace = pace
        self._master: int | None = None
        self._slave: int | None = None
        self.device = ""
        self.pushes = 0
        self.written_bytes = 0
        self.dropped_bytes = 0

    def open(self) -> str:
        """Create the pseudo-terminal; returns the slave's path (what the gateway opens)."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no line discipline: 0x0A, 0x0D, 0x11, 0x13 must pass unchanged
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.device = os.ttyname(slave)
        return self.device

    def close(self) -> None:
        """Close the pseudo-terminal: a reader sees the line go away (like an unplugged adapter)."""
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    def __enter__(self) -> E450Emulator:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def frames(self, push: Push) -> list[bytes]:
        """The HDLC frames of one push, as this meter model sends them."""
        style = E450_STYLE if self.model == "e450" else E360_STYLE
        return encode_push(push, model=self.model, frame=style)

    async def run(self) -> None:
        """Push every setup at its period until cancelled (the first pushes go out at once)."""
        if self._master is None:
            self.open()
        s = self.schedule
        setups = [(s.technical_s, TECHNICAL_OBJECTS), (s.energy_s, ENERGY_OBJECTS), (s.billing_s, BILLING_OBJECTS)]
        due = [self._clock.time()] * len(setups)
        while True:
            now = self._clock.time()
            for i, (period, objects) in enumerate(setups):
                if now >= due[i]:
                    due[i] = max(due[i] + period, now)
                    await self.push_now(objects)
            await self._clock.sleep(max(0.0, min(due) - self._clock.time()))

    async def push_now(self, objects: tuple[str, ...] = TECHNICAL_OBJECTS) -> Push:
        """Take a snapshot, push ``objects`` and return the push sent."""
        snapshot = self._port.snapshot()
        push = build_push(self.device_name, self._clock.time(), register_values(snapshot.meter), objects)
        for frame in self.frames(push):
            await self.write(frame)
        self.pushes += 1
        return push

    async def write(self, data: bytes) -> None:
        """Write raw bytes to the line at its rate (also for tests that inject noise)."""
        for start in range(0, len(data), self._chunk):
            chunk = data[start : start + self._chunk]
            self._write_now(chunk)
            if self._pace:
                await self._clock.sleep(len(chunk) / self.bytes_per_s)

    def _write_now(self, chunk: bytes) -> None:
        if self._master is None:
            self.dropped_bytes += len(chunk)
            return
        try:
            written = os.write(self._master, chunk)
        except BlockingIOError:
            written = 0
        except OSError as exc:  # EIO: no slave side any more
            if exc.errno != errno.EIO:
                raise
            written = 0
        self.written_bytes += written
        self.dropped_bytes += len(chunk) - written
