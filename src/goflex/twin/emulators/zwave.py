"""The pilot's Z-Wave devices, emulated on a simulated house (seed Table 4, Appendix 4.1.1-4.1.3).

* Philio PAT02-B room sensor (``ambientSensor-#``): battery powered, reports every 5 to 10 min and when the
  temperature moved by 0.5 K; resolution 0.1 C.
* Qubino Flush On/Off Thermostat ZMNHID with a 1 m probe on the tank wall (``boilerSensor-#``): reports every
  10 to 30 min and on a 0.5 K change; resolution 0.1 C.
* Aeotec Home Energy Meter Gen5 ZW095 (``powerMeter-#``): three clamps and the total, in W and kWh, about every
  15 s.

Seed Appendix 4 note: "The Z-Wave products' report intervals are sometimes irregular." Each device draws its next
interval uniformly from its range with a seeded :class:`random.Random`, so a run is reproducible. Change
reports are checked when the device wakes (every ``check_s``), as a battery sensor does.

:class:`ZWaveDevices` is the pure part (state + time in, readings out); :class:`EmulatedZWave` runs it on a
clock and a :class:`HousePort` with the same interface as the zwave-js driver.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

from goflex.common import Clock
from goflex.twin.emulators.readings import DeviceReading
from goflex.twin.signals import HousePort, HouseSnapshot


@dataclass(frozen=True)
class ReportProfile:
    """How a device reports.

    Attributes:
        min_interval_s, max_interval_s: range of the periodic report interval [s].
        change: change since the last report that triggers a report [unit of the value]; None = none.
        check_s: how often the device looks for a change [s].
        resolution: the value is rounded to this [unit].
    """

    min_interval_s: float
    max_interval_s: float
    change: float | None = None
    check_s: float = 60.0
    resolution: float = 0.1


PHILIO_PAT02B = ReportProfile(300.0, 600.0, change=0.5, check_s=60.0, resolution=0.1)
QUBINO_ZMNHID = ReportProfile(600.0, 1800.0, change=0.5, check_s=30.0, resolution=0.1)
AEOTEC_HEM_GEN5 = ReportProfile(14.0, 16.0, change=None, check_s=15.0, resolution=0.01)

_CLAMP_OBJECTS = ("Clamp1", "Clamp2", "Clamp3")


def _round(value: float, resolution: float) -> float:
    return round(round(value / resolution) * resolution, 6)


@dataclass
class _Device:
    node: str
    profile: ReportProfile
    next_report_s: float
    next_check_s: float
    last: float | None = None


class ZWaveDevices:
    """The devices of one house and their report schedules (pure, deterministic for a given ``rng``).

    Args:
        snapshot: the house as it is at start (decides which devices exist).
        start_s: the start time [s]; every device reports once within its first interval.
        rng: random source of the intervals (seeded by the caller).
    """

    def __init__(self, snapshot: HouseSnapshot, start_s: float, rng: random.Random) -> None:
        self._rng = rng
        self._devices: list[_Device] = []
        for i in range(len(snapshot.ambient_c)):
            self._devices.append(self._device(f"ambientSensor-{i + 1}", PHILIO_PAT02B, start_s))
        for i in range(len(snapshot.tank_wall_c)):
            self._devices.append(self._device(f"boilerSensor-{i + 1}", QUBINO_ZMNHID, start_s))
        for i in range(len(snapshot.clamps)):
            self._devices.append(self._device(f"powerMeter-{i + 1}", AEOTEC_HEM_GEN5, start_s))

    def _device(self, node: str, profile: ReportProfile, start_s: float) -> _Device:
        # Devices join the network at random moments: the first report falls anywhere in the first interval.
        first = start_s + self._rng.uniform(0.0, profile.min_interval_s)
        return _Device(node, profile, first, start_s + self._rng.uniform(0.0, profile.check_s))

    @property
    def nodes(self) -> list[str]:
        """The node names of the emulated devices."""
        return [d.node for d in self._devices]

    def next_wakeup_s(self) -> float:
        """The next time [s] a device wakes up (report or change check)."""
        return min((min(d.next_report_s, d.next_check_s) for d in self._devices), default=math.inf)

    def poll(self, snapshot: HouseSnapshot, t: float) -> list[DeviceReading]:
        """The readings the devices send at ``t`` [s] given the house's state."""
        out: list[DeviceReading] = []
        for device in self._devices:
            periodic = t >= device.next_report_s
            checking = t >= device.next_check_s
            if not (periodic or checking):
                continue
            if checking:
                device.next_check_s = t + device.profile.check_s
            readings = self._read(device, snapshot)
            if not readings:
                continue
            changed = (
                device.profile.change is not None
                and device.last is not None
                and abs(readings[0].value - device.last) >= device.profile.change
            )
            if periodic or changed:
                p = device.profile
                device.next_report_s = t + self._rng.uniform(p.min_interval_s, p.max_interval_s)
                device.last = readings[0].value
                out.extend(readings)
        return out

    def _read(self, device: _Device, snapshot: HouseSnapshot) -> list[DeviceReading]:
        kind, _, number = device.node.partition("-")
        index = int(number) - 1
        res = device.profile.resolution
        if kind == "ambientSensor" and index < len(snapshot.ambient_c):
            return [DeviceReading(device.node, "temperature", _round(snapshot.ambient_c[index], res))]
        if kind == "boilerSensor" and index < len(snapshot.tank_wall_c):
            return [DeviceReading(device.node, "temperature", _round(snapshot.tank_wall_c[index], res))]
        if kind == "powerMeter" and index < len(snapshot.clamps):
            clamps = snapshot.clamps[index]
            readings = [
                DeviceReading(device.node, f"watts{name}", _round(c.power_w, res))
                for name, c in zip(_CLAMP_OBJECTS, clamps, strict=True)
            ]
            readings.append(DeviceReading(device.node, "wattsTotal", _round(sum(c.power_w for c in clamps), res)))
            readings += [
                DeviceReading(device.node, f"kWh{name}", round(c.energy_kwh, 3))
                for name, c in zip(_CLAMP_OBJECTS, clamps, strict=True)
            ]
            readings.append(DeviceReading(device.node, "kWhTotal", round(sum(c.energy_kwh for c in clamps), 3)))
            return readings
        return []


class EmulatedZWave:
    """The Z-Wave network of one simulated house, as a source of reading batches (the gateway's interface).

    Args:
        port: the house.
        clock: simulated time.
        rng: random source of the report intervals.
    """

    def __init__(self, port: HousePort, clock: Clock, *, rng: random.Random) -> None:
        self._port = port
        self._clock = clock
        self._rng = rng

    async def readings(self) -> AsyncIterator[list[DeviceReading]]:
        """Yield each batch of readings the devices send, as they send them (until cancelled)."""
        devices = ZWaveDevices(self._port.snapshot(), self._clock.time(), self._rng)
        while True:
            wake = devices.next_wakeup_s()
            if math.isinf(wake):
                await self._clock.sleep(3600.0)  # a house without Z-Wave devices
                continue
            await self._clock.sleep(max(0.0, wake - self._clock.time()))
            batch = devices.poll(self._port.snapshot(), self._clock.time())
            if batch:
                yield batch

    async def close(self) -> None:
        """Nothing to release."""
