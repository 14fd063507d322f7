"""The balance group's meter as a cloud.iO endpoint: ``goflex-grid-tg8000`` (seed 3.3: TG8000, every 5 minutes).

Seed 3.3: the DSO reads the balance group's load from its TG8000 ripple-control system every 5 minutes; DOMS
compares it with the day-ahead forecast. Here a scenario's ``grid.csv`` is replayed on the platform clock
(:class:`goflex.doms.live_inputs.ScenarioReplay`: the same weekday and time of day when the dates differ) and
published like any endpoint: its own certificate (CN ``goflex-grid-tg8000``, confined by the broker to its own
topics), a durable outbox, one ``@update`` of :data:`goflex.doms.live.LOAD_PATH` per 5-minute interval at the
interval's end, timestamped with the interval's start [MW]. A hole in the file is not published (the reader sees
a gap); bad values (spikes, a stuck feed) are published as they are: judging them is DOMS's job.

With a ``fleet`` (the demo's houses, :class:`HousesEnergy`), the published load also carries the houses' departure
from their mean flexible power (:class:`goflex.demo.fleet_response.FleetResponse`): what DOMS bought shows in the
load it reads, and so does the rebound. A stuck stretch of the file stays stuck: the meter repeats the value it
published, as a frozen feed would.

It lives in :mod:`goflex.demo` (not :mod:`goflex.sim`) because it reuses DOMS's scenario replay, and ``sim`` and
``doms`` are independent layers.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from goflex.cloudio.endpoint_client import Endpoint
from goflex.cloudio.model import AttributeType, Constraint, EndpointModel, attr, endpoint, node, obj
from goflex.common.clock import Clock
from goflex.demo.fleet_response import FleetResponse
from goflex.doms.live import GRID_ENDPOINT
from goflex.doms.live_inputs import ScenarioReplay
from goflex.flex.foa.devices import HouseReader
from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.foa.iot_devices import relay_of
from goflex.pki.authority import CertificateAuthority
from goflex.pki.names import CertificateKind
from goflex.twin.house import HouseSpec

log = logging.getLogger(__name__)
STEP_S = 300
RESEND_AFTER_S = 30.0  # re-send a value ingest has not confirmed after this long [s of real time]


def grid_model(name: str = GRID_ENDPOINT) -> EndpointModel:
    """The meter's data model: ``tg8000/balanceGroupLoadMw/datapoint`` (Measure, Number) [MW]."""
    return endpoint(
        name, {"tg8000": node({"balanceGroupLoadMw": obj(datapoint=attr(Constraint.MEASURE, AttributeType.NUMBER))})}
    )


def ensure_certificate(pki: Path, name: str, kind: CertificateKind) -> None:
    """Issue ``name``'s certificate in the CA directory ``pki`` unless it exists (created once, then reused)."""
    if not (pki / f"{name}.crt").is_file():
        CertificateAuthority.load(pki).issue(name, kind)


class FleetEnergy(Protocol):
    """The demo fleet's energy registers."""

    @property
    def registers(self) -> int:
        """How many registers the fleet has."""
        ...

    async def energy_kwh(self) -> dict[str, float]:
        """Each register's latest cumulative energy [kWh] (the ones read so far)."""
        ...


@dataclass
class HousesEnergy:
    """The houses' controlled clamps, as a Direct Control FOA reads them: one register per clamp channel.

    Per channel, not per relay: a three-phase heating system has a clamp per phase, and a relay's sum would jump
    by a whole register when its second phase is first read.

    Args:
        reader: the houses' readings (:class:`goflex.flex.foa.iot_devices.CloudioHouses` in the demo).
        houses: the house names.
        clamps: how many controlled clamps the houses have in all (the registers to expect).
    """

    reader: HouseReader
    houses: list[str]
    clamps: int

    @classmethod
    def of(cls, reader: HouseReader, specs: Sequence[HouseSpec]) -> HousesEnergy:
        """The clamps behind ``specs``' relays (seed 3.2.5.11: the heating systems' sub-metering)."""
        clamps = sum(1 for s in specs for c in s.clamps if relay_of(s, c.load) is not None)
        return cls(reader, [s.name for s in specs], clamps)

    @property
    def registers(self) -> int:
        """See :class:`FleetEnergy`."""
        return max(self.clamps, 1)

    async def energy_kwh(self) -> dict[str, float]:
        """See :class:`FleetEnergy`: ``house/channel`` -> kWh (the latest sample of each)."""
        out: dict[str, float] = {}
        for house in self.houses:
            try:
                reading = await self.reader.read(house)
            except InvalidDeviceState:
                continue
            for register in reading.registers:
                if register.samples:
                    out[f"{house}/{register.channel}"] = register.samples[-1].energy_kwh
        return out


@dataclass
class GridMeter:
    """Publishes the replayed load every 5 minutes of the clock (see the module docstring).

    Args:
        replay: the scenario (its ``scale`` is the demo balance group's).
        endpoint: the connected cloud.iO endpoint of model :func:`grid_model`.
        clock: the platform clock.
        fleet: the demo houses whose response the load carries (None: the file's load alone).
    """

    replay: ScenarioReplay
    endpoint: Endpoint
    clock: Clock
    fleet: FleetEnergy | None = None
    published: int = 0
    holes: int = 0
    response: FleetResponse | None = None
    departure_mw: float = 0.0
    _raw: float = math.nan
    _sent: float = math.nan

    def publish(self, interval_start: int, departure_mw: float = 0.0) -> bool:
        """Publish the load of ``[interval_start, + 5 min)`` plus the fleet's ``departure_mw``; False for a hole."""
        load = self.replay.row(interval_start).load_mw
        if not math.isfinite(load):
            self.holes += 1
            return False
        # a stuck stretch of the file is a frozen feed: it repeats what it sent, whatever the houses do
        value = self._sent if load == self._raw and math.isfinite(self._sent) else load + departure_mw
        self._raw, self._sent = load, value
        path = f"{self.endpoint.name}/tg8000/balanceGroupLoadMw/datapoint"
        self.endpoint.update(path, value, timestamp=float(interval_start))
        self.published += 1
        return True

    async def _departure(self, time_s: float) -> float:
        if self.fleet is None:
            return 0.0
        if self.response is None:
            self.response = FleetResponse(self.fleet.registers)
        self.departure_mw = self.response.step(time_s, await self.fleet.energy_kwh())
        return self.departure_mw

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """At the end of each 5-minute interval, publish it; until cancelled or ``stop`` is set."""
        stop = stop or asyncio.Event()
        boundary = int(self.clock.time()) // STEP_S * STEP_S + STEP_S
        while not stop.is_set():
            wait = boundary - self.clock.time()
            if wait > 0:
                await self.clock.sleep(wait)
                continue
            self.publish(boundary - STEP_S, await self._departure(float(boundary)))
            boundary += STEP_S


def open_endpoint(*, pki: Path, broker_url: str, outbox: Path, clock: Clock, name: str = GRID_ENDPOINT) -> Endpoint:
    """The meter's endpoint with its certificate (issued if missing) and outbox (not yet connected)."""
    ensure_certificate(pki, name, CertificateKind.ENDPOINT)
    outbox.parent.mkdir(parents=True, exist_ok=True)
    # Waiting for ingest's acknowledgement is a network matter: 30 s of *real* time. Under the demo's accelerated
    # clock 30 clock seconds are 0.1 s at x300: the meter re-sent its unconfirmed values many times a second while
    # ingest was busy with the houses, its own re-sends held up its live values, and DOMS judged every interval
    # before its value came (a gap, then a stop, for the rest of the run).
    speed = max(1.0, float(getattr(clock, "speed", 1.0)))
    return Endpoint(
        grid_model(name),
        broker=broker_url,
        ca_file=pki / "ca.crt",
        cert_file=pki / f"{name}.crt",
        key_file=pki / f"{name}.key",
        outbox_path=outbox,
        clock=clock,
        resend_after_s=RESEND_AFTER_S * speed,
    )


__all__ = ["FleetEnergy", "GridMeter", "HousesEnergy", "ensure_certificate", "grid_model", "open_endpoint"]
