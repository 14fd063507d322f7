"""Direct Control houses through the cloud.iO IoT layer: relay ``@set`` out, sensor ``@update`` in (I/O adapter).

Commands: ``@set`` of ``<house>/gateway/relay<n>Control/parameter`` (a Boolean Parameter, seed Appendix 4.2.1:
true = relay closed = heating enabled), sent with the platform clock's timestamp by
:meth:`goflex.cloudio.application.Application.set`; the gateway's fail-safe applies it
(:mod:`goflex.gateway.failsafe`). The constraint and type are given explicitly, so the agent needs no read right on
``@online`` to command.

Readings: the agent subscribes to ``@update/<house>/#`` (and ``@transaction``) of its houses and keeps the latest
room sensor (``ambientSensor-1/temperature``), tank probe (``boilerSensor-1/temperature``), sub-meter clamp
energies (``powerMeter-k/kWhClampC``) and powers, and relay states. Which clamps measure which heating system comes
from the house's metadata (:class:`goflex.twin.house.HouseSpec` clamps, seed 3.2.5.11). Each clamp's energy register
also keeps, with the timestamps the gateway gave them, the samples around each slot boundary
(:class:`goflex.flex.foa.metering.RegisterTrail`): the agent meters by interpolating them, however late it reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from goflex.cloudio.application import Application, Subscription
from goflex.cloudio.messages import TransactionMessage, UpdateMessage
from goflex.cloudio.model import Attribute, AttributePath, AttributeType, Constraint
from goflex.common.clock import Clock
from goflex.flex.foa.devices import HouseReading, RegisterReading, parse_relay_device
from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.foa.execution import Command, RelayCommand
from goflex.flex.foa.framing import SLOT_S
from goflex.flex.foa.metering import RegisterSample, RegisterTrail
from goflex.twin.house import HouseSpec, Load

log = logging.getLogger(__name__)


class CloudioHouses:
    """Houses reached through a cloud.iO :class:`Application` (see the module docstring).

    Args:
        app: the agent's application (its certificate needs WRITE on the houses for ``@set``, READ for readings).
        specs: the houses' metadata.
        clock: time of the readings.
    """

    def __init__(self, app: Application, specs: Sequence[HouseSpec], clock: Clock) -> None:
        self._app = app
        self._specs = {s.name: s for s in specs}
        self._clock = clock
        self._values: dict[str, dict[str, float | bool]] = {name: {} for name in self._specs}
        self._trails: dict[str, dict[str, RegisterTrail]] = {name: {} for name in self._specs}
        self._task: asyncio.Task[None] | None = None
        self.commands = 0
        self.ignored = 0

    async def start(self) -> None:
        """Subscribe to the houses' updates and keep their latest values."""
        filters = [f"@update/{n}/#" for n in self._specs] + [f"@transaction/{n}" for n in self._specs]
        subscription = self._app.subscribe(*filters)
        self._task = asyncio.create_task(self._consume(subscription), name="foa readings")

    async def stop(self) -> None:
        """Stop consuming updates."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _consume(self, subscription: Subscription) -> None:
        async for message in subscription:
            if isinstance(message, UpdateMessage):
                self._store(message.path, message.attribute)
            elif isinstance(message, TransactionMessage):
                for path, attribute in message.items:
                    self._store(path, attribute)

    def _store(self, path: AttributePath, attribute: Attribute) -> None:
        values = self._values.get(path.endpoint)
        if values is None or not isinstance(attribute.value, int | float | bool):
            self.ignored += 1
            return
        key = f"{path.node}/{'/'.join(path.objects)}"
        values[key] = attribute.value
        if "/kWhClamp" in key and not isinstance(attribute.value, bool):
            # the gateway's timestamp is when the meter was read; without one, when it arrived
            ts = attribute.timestamp if attribute.timestamp is not None else self._clock.time()
            trail = self._trails[path.endpoint].setdefault(key, RegisterTrail(SLOT_S))
            trail.add(RegisterSample(datetime.fromtimestamp(ts, UTC), float(attribute.value)))

    async def apply(self, command: Command) -> None:
        """Publish the relay ``@set`` (see :class:`goflex.flex.foa.devices.DeviceCommands`).

        Raises:
            InvalidDeviceState: not a relay command, or an unknown house.
            ConnectionLost: the broker did not confirm in time.
        """
        if not isinstance(command, RelayCommand):
            raise InvalidDeviceState("command", f"Direct Control houses take relay commands, not {type(command)}")
        house, relay = parse_relay_device(command.device_id)
        if house not in self._specs:
            raise InvalidDeviceState("device_id", f"unknown house {house!r}")
        path = f"{house}/gateway/relay{relay}Control/parameter"
        await self._app.set(path, command.closed, constraint=Constraint.PARAMETER, type_=AttributeType.BOOLEAN)
        self.commands += 1

    async def read(self, house: str) -> HouseReading:
        """The latest values received (see :class:`goflex.flex.foa.devices.HouseReader`).

        Raises:
            InvalidDeviceState: unknown house.
        """
        spec = self._specs.get(house)
        if spec is None:
            raise InvalidDeviceState("house", f"unknown house {house!r}")
        v = self._values[house]

        def num(key: str) -> float | None:
            x = v.get(key)
            return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None

        energy: dict[int, float] = {}
        registers: list[RegisterReading] = []
        power = 0.0
        for clamp in spec.clamps:
            relay = relay_of(spec, clamp.load)
            channel = f"powerMeter-{clamp.power_meter}/kWhClamp{clamp.clamp}"
            kwh = num(channel)
            trail = self._trails[house].get(channel)
            if relay is not None and trail is not None:
                registers.append(RegisterReading(relay, channel, trail.samples()))
            watts = num(f"powerMeter-{clamp.power_meter}/wattsClamp{clamp.clamp}")
            if relay is not None and kwh is not None:
                energy[relay] = energy.get(relay, 0.0) + kwh
            if relay is not None and watts is not None:
                power += watts
        states = (v.get("gateway/relay1State"), v.get("gateway/relay2State"))
        return HouseReading(
            house=house,
            time=datetime.fromtimestamp(self._clock.time(), UTC),
            tank_c=num("boilerSensor-1/temperature"),
            room_c=num("ambientSensor-1/temperature"),
            energy_kwh=energy,
            power_w=power,
            relay_closed=(states[0] is not False, states[1] is not False),
            registers=tuple(registers),
        )


def relay_of(spec: HouseSpec, load: Load) -> int | None:
    """The relay that switches ``load`` in ``spec``'s house, None if no relay does (PV, or no such relay)."""
    if load is Load.DHW:
        return spec.dhw_relay
    if load in (Load.SPACE_HEATING, Load.COMMON):
        return spec.space_heating_relay
    return None
