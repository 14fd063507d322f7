"""A fleet of twin houses, each read and switched by its own gateway program, in one process.

Per house: the twin's E450 emulator writes real CII frames into a pseudo-terminal that the gateway's
:class:`~goflex.gateway.serial_meter.SerialMeter` reads exactly as it reads ``/dev/ttyUSB0`` on a Pi; emulated
Z-Wave devices report with their irregular intervals; the emulated relay board drives the house's physics; the
gateway is a cloud.iO endpoint with its own certificate and durable outbox. The physics of all houses is stepped
together (vectorised) on the simulated clock. Nothing here decides anything: the gateways and the platform do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from goflex.cloudio.endpoint_client import Endpoint, SetHandler
from goflex.common import SimClock
from goflex.gateway.datamodel import HouseDevices, direct_control_model
from goflex.gateway.failsafe import FailSafePolicy
from goflex.gateway.program import Gateway
from goflex.gateway.serial_meter import SerialMeter
from goflex.pki import CertificateAuthority, CertificateKind
from goflex.twin.emulators.e450 import E450Emulator
from goflex.twin.emulators.relays import EmulatedRelayBoard
from goflex.twin.emulators.zwave import EmulatedZWave
from goflex.twin.fleet import FleetPhysics, FleetSummary
from goflex.twin.house import HouseSpec

log = logging.getLogger(__name__)
BROKER_IDENTITY = "broker"


def house_devices(spec: HouseSpec) -> HouseDevices:
    """The gateway's view of a house's Z-Wave devices (seed 3.2.5.4, from the house's metadata)."""
    d = spec.devices
    return HouseDevices(ambient_sensors=d.ambient_sensors, boiler_sensors=d.boiler_sensors, power_meters=d.power_meters)


def prepare_pki(directory: Path, names: Sequence[str]) -> Path:
    """A CA in ``directory/pki`` with the broker's and every house's certificate (created once, then reused)."""
    pki = directory / "pki"
    ca = CertificateAuthority.load(pki) if (pki / "ca.crt").is_file() else CertificateAuthority.init(pki)
    if not (pki / f"{BROKER_IDENTITY}.crt").is_file():
        ca.issue(BROKER_IDENTITY, CertificateKind.SERVER)
    issue_missing_certificates(ca, names)
    return pki


def issue_missing_certificates(ca: CertificateAuthority, names: Sequence[str]) -> None:
    """Issue an endpoint certificate to each house in ``names`` that has none in the CA's directory yet."""
    missing = [name for name in names if not (ca.directory / f"{name}.crt").is_file()]
    if missing:
        ca.issue_many(missing, CertificateKind.ENDPOINT)


@dataclass(frozen=True)
class FleetOptions:
    """How a fleet connects and simulates.

    Attributes:
        broker_url: the platform's broker (``mqtts://host:port``).
        pki_dir: directory with ``ca.crt`` and ``<house>.crt`` / ``<house>.key`` for every house.
        data_dir: where each gateway keeps its outbox (``outbox/<house>.db``).
        seed: random seed of the physics and the devices.
        physics_dt_s: physics step [s] (<= 60).
        days: horizon of the simulated weather and load profiles [d].
        failsafe: the gateways' fail-safe settings.
        publish: ``"update"`` (one ``@update`` per value, as the pilot's gateways) or ``"transaction"`` (the values
            sampled together in one ``@transaction``: fewer messages for large fleets).
    """

    broker_url: str
    pki_dir: Path
    data_dir: Path
    seed: int = 1
    physics_dt_s: float = 10.0
    days: float = 31.0
    failsafe: FailSafePolicy = field(default_factory=FailSafePolicy)
    publish: str = "update"


@dataclass
class _House:
    spec: HouseSpec
    gateway: Gateway
    meter: E450Emulator


class TwinFleet:
    """Twin houses with their gateways.

    Args:
        specs: the houses (their metadata).
        options: broker, certificates, directories, physics.
        clock: the simulated clock every house and gateway shares.
    """

    def __init__(self, specs: Sequence[HouseSpec], options: FleetOptions, clock: SimClock) -> None:
        self.clock = clock
        self.options = options
        self.physics = FleetPhysics(
            specs, start=clock.now(), seed=options.seed, dt_s=options.physics_dt_s, days=options.days
        )
        self.houses = [self._house(i, spec) for i, spec in enumerate(specs)]

    def _house(self, index: int, spec: HouseSpec) -> _House:
        port = self.physics.port(index)
        meter = E450Emulator(port, self.clock, device_name=f"LGZ{1030000000000 + spec.number:013d}")
        rng = random.Random(self.options.seed * 100_003 + spec.number)
        serial = SerialMeter(meter.open(), clock=self.clock, model="e450", rng=rng)
        devices = house_devices(spec)
        gateway = Gateway(
            name=spec.name,
            devices=devices,
            endpoint=self._endpoint_factory(spec.name, devices),
            relays=EmulatedRelayBoard(port),
            clock=self.clock,
            meter=serial,
            zwave=EmulatedZWave(port, self.clock, rng=rng),
            failsafe=self.options.failsafe,
            publish=self.options.publish,
        )
        return _House(spec, gateway, meter)

    def _endpoint_factory(self, name: str, devices: HouseDevices) -> _EndpointFactory:
        return _EndpointFactory(name, devices, self.options, self.clock)

    @property
    def gateways(self) -> list[Gateway]:
        """The houses' gateways, in the order of the specs."""
        return [h.gateway for h in self.houses]

    def online(self) -> int:
        """Gateways connected to the broker now."""
        return sum(1 for h in self.houses if h.gateway.endpoint.connected)

    def published(self) -> int:
        """Values the gateways have handed to their outboxes so far."""
        return sum(h.gateway.stats().published for h in self.houses)

    def summary(self) -> FleetSummary:
        """The physics' live figures (relays open, temperatures, power)."""
        return self.physics.summary()

    async def run(self) -> None:
        """Run every house until cancelled (physics, meters, gateways)."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.physics_loop(), name="physics")
                for h in self.houses:
                    group.create_task(h.meter.run(), name=f"meter {h.spec.name}")
                    group.create_task(h.gateway.run(), name=f"gateway {h.spec.name}")
        finally:
            for h in self.houses:
                with contextlib.suppress(OSError):
                    h.meter.close()

    async def physics_loop(self) -> None:
        """Step the houses' physics on the simulated clock until cancelled (part of :meth:`run`)."""
        while True:
            self.physics.advance_to(self.clock.time())
            await self.clock.sleep(self.physics.dt_s)


class _EndpointFactory:
    """Builds one house's endpoint with the gateway's ``@set`` handler (the gateway program's seam)."""

    def __init__(self, name: str, devices: HouseDevices, options: FleetOptions, clock: SimClock) -> None:
        self._name, self._devices, self._options, self._clock = name, devices, options, clock

    def __call__(self, on_set: SetHandler) -> Endpoint:
        o = self._options
        (o.data_dir / "outbox").mkdir(parents=True, exist_ok=True)
        return Endpoint(
            direct_control_model(self._name, self._devices),
            broker=o.broker_url,
            ca_file=o.pki_dir / "ca.crt",
            cert_file=o.pki_dir / f"{self._name}.crt",
            key_file=o.pki_dir / f"{self._name}.key",
            outbox_path=o.data_dir / "outbox" / f"{self._name}.db",
            clock=self._clock,
            on_set=on_set,
        )
