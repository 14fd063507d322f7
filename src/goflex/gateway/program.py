"""The Direct Control gateway program: field devices in, cloud.iO out, and the fail-safe (seed 3.2.5.6).

One :class:`Gateway` per house. It reads the smart meter (:class:`MeterSource`), the Z-Wave devices
(:class:`ZWaveSource`) and the On-Auto switch, publishes what the sampling rules let through (seed Tables 2 and
3, :mod:`goflex.gateway.sampling`) with the exact names of Appendix 4, obeys ``relay1Control`` /
``relay2Control`` through the endpoint's ``@set`` handler, and lets the fail-safe (:mod:`goflex.gateway.failsafe`)
decide the relay positions. Readings go through the endpoint SDK's durable outbox, so they survive a lost link
and a power cut.

Cost per gateway: three tasks (control, meter, Z-Wave) besides the endpoint's own, no thread (the meter's line
is watched by the event loop), so a fleet runner can run hundreds in one process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from goflex.cloudio.endpoint_client import Endpoint, SetHandler
from goflex.cloudio.errors import CloudioError
from goflex.cloudio.model import Attribute, AttributePath, Value
from goflex.common import Clock
from goflex.dlms import Push
from goflex.gateway.config import DEFAULT_RULES, GatewayConfig
from goflex.gateway.datamodel import POWER_METER_OBJECTS, HouseDevices
from goflex.gateway.drivers import MeterSource, RelayBoard, ZWaveSource
from goflex.gateway.failsafe import (
    Command,
    FailSafePolicy,
    FailSafeState,
    Mode,
    on_command,
    on_link,
    on_switch,
    on_tick,
)
from goflex.gateway.meter_groups import METER_SERIES, meter_values
from goflex.gateway.sampling import Sampler, SeriesRule
from goflex.twin.emulators.readings import DeviceReading

log = logging.getLogger(__name__)

EndpointFactory = Callable[[SetHandler], Endpoint]
"""Builds the gateway's endpoint given the ``@set`` handler to install (see :func:`endpoint_factory`)."""

_RELAY_CONTROLS = {"relay1Control": 1, "relay2Control": 2}
_STATUS_OBJECTS = ("relay1State", "relay2State", "switchState")


@dataclass(frozen=True)
class GatewayStats:
    """Counters of a running gateway.

    Attributes:
        mode: why the relays are where they are (auto, failsafe, manual).
        relays: relay 1 and 2 as last driven (True = closed).
        pushes: meter pushes received.
        readings: Z-Wave readings received.
        published: values handed to the endpoint (outbox).
        publish_errors: publications the endpoint refused (logged).
        commands: relay commands received.
    """

    mode: Mode
    relays: tuple[bool, bool]
    pushes: int
    readings: int
    published: int
    publish_errors: int
    commands: int


def endpoint_factory(config: GatewayConfig, clock: Clock) -> EndpointFactory:
    """The endpoint of a configured gateway (broker, certificates, outbox caps)."""
    from goflex.cloudio.topics import TopicForm  # noqa: PLC0415
    from goflex.gateway.datamodel import direct_control_model  # noqa: PLC0415

    def make(on_set: SetHandler) -> Endpoint:
        c, o = config.cloudio, config.outbox
        config.data_dir.mkdir(parents=True, exist_ok=True)
        return Endpoint(
            direct_control_model(config.name, config.devices),
            broker=c.broker,
            ca_file=c.ca_file,
            cert_file=c.cert_file,
            key_file=c.key_file,
            outbox_path=config.outbox_path,
            clock=clock,
            topic_form=TopicForm(c.topic_form),
            on_set=on_set,
            keepalive_s=c.keepalive_s,
            check_hostname=c.check_hostname,
            backfill_rate_per_s=o.backfill_rate_per_s,
            max_messages=o.max_messages,
            max_bytes=o.max_bytes,
            max_age_s=o.max_age_s,
        )

    return make


class Gateway:
    """One house's gateway.

    Args:
        name: endpoint name (``goflex-dc-<###>``).
        devices: the house's Z-Wave devices (which series exist).
        endpoint: builds the endpoint, given the ``@set`` handler.
        relays: the relay board and On-Auto switch.
        clock: time source (a SimClock in the twin).
        meter: the smart meter, or None (no meter path).
        zwave: the Z-Wave devices, or None.
        failsafe: fail-safe settings.
        sampling: rules per group (keys of :data:`goflex.gateway.config.DEFAULT_RULES`).
        control_period_s: how often the switch and link are checked and held values re-published [s].
        publish: ``"update"``: one ``@update`` per attribute on the pilot's topics (seed 3.2.5.9; what
            cloud.iO applications subscribe to; the values sampled together share one outbox write);
            ``"transaction"``: those values in one ``@transaction`` message (fewer messages for the broker and
            ingest: for large fleets of simulated gateways).
        max_meter_skew_s: a push whose meter clock is further than this from the gateway's is stamped with the
            gateway's time [s] (ingest refuses timestamps in the future).
        stop_grace_s: on :meth:`stop`, how long (real seconds) the endpoint may still wait, while connected, for
            the platform to confirm what is in the outbox before it disconnects.
    """

    def __init__(
        self,
        *,
        name: str,
        devices: HouseDevices,
        endpoint: EndpointFactory,
        relays: RelayBoard,
        clock: Clock,
        meter: MeterSource | None = None,
        zwave: ZWaveSource | None = None,
        failsafe: FailSafePolicy | None = None,
        sampling: Mapping[str, SeriesRule] | None = None,
        control_period_s: float = 1.0,
        max_meter_skew_s: float = 300.0,
        publish: str = "update",
        stop_grace_s: float = 3.0,
    ) -> None:
        if publish not in ("update", "transaction"):
            raise ValueError(f"publish must be 'update' or 'transaction', got {publish!r}")
        self._transactions = publish == "transaction"
        self.name = name
        self._clock = clock
        self._relays = relays
        self._meter = meter
        self._zwave = zwave
        self._policy = failsafe or FailSafePolicy()
        self._control_period = control_period_s
        self._max_skew = max_meter_skew_s
        self._stop_grace_s = stop_grace_s
        self.endpoint = endpoint(self._on_set)
        self._sampler = Sampler()
        self._declare_series(devices, {**DEFAULT_RULES, **(sampling or {})})
        self._state = FailSafeState.initial(clock.time())
        self._driven: list[bool | None] = [None, None]
        self._readback = (True, True)
        self._reported: dict[str, bool] = {}
        self._stop = asyncio.Event()
        self._counts = dict.fromkeys(("pushes", "readings", "published", "publish_errors", "commands"), 0)
        self._unknown: set[str] = set()

    @classmethod
    def from_config(
        cls,
        config: GatewayConfig,
        *,
        relays: RelayBoard,
        clock: Clock,
        meter: MeterSource | None,
        zwave: ZWaveSource | None,
        endpoint: EndpointFactory | None = None,
    ) -> Gateway:
        """A gateway as configured (the endpoint built from the configuration unless given)."""
        return cls(
            name=config.name,
            devices=config.devices,
            endpoint=endpoint or endpoint_factory(config, clock),
            relays=relays,
            clock=clock,
            meter=meter,
            zwave=zwave,
            failsafe=config.failsafe,
            sampling=config.sampling,
            control_period_s=config.control_period_s,
            publish=config.publish,
            stop_grace_s=config.outbox.stop_grace_s,
        )

    def _path(self, node: str, obj: str, attribute: str = "datapoint") -> str:
        return f"{self.name}/{node}/{obj}/{attribute}"

    def _declare_series(self, devices: HouseDevices, rules: Mapping[str, SeriesRule]) -> None:
        for i in range(1, devices.ambient_sensors + 1):
            self._sampler.add(self._path(f"ambientSensor-{i}", "temperature"), rules["ambient"])
        for i in range(1, devices.boiler_sensors + 1):
            self._sampler.add(self._path(f"boilerSensor-{i}", "temperature"), rules["boiler"])
        for i in range(1, devices.power_meters + 1):
            for obj in POWER_METER_OBJECTS:
                rule = rules["power"] if obj.startswith("watts") else rules["submeter_energy"]
                self._sampler.add(self._path(f"powerMeter-{i}", obj), rule)
        for series in METER_SERIES.values():
            self._sampler.add(self._path(series.node, series.obj), rules[series.group])

    # -- public ------------------------------------------------------------------------------------------------

    @property
    def failsafe_state(self) -> FailSafeState:
        """The fail-safe's state (mode, relays, remembered commands)."""
        return self._state

    def stats(self) -> GatewayStats:
        """A snapshot of the counters."""
        c = self._counts
        return GatewayStats(
            mode=self._state.mode,
            relays=self._state.relays,
            pushes=c["pushes"],
            readings=c["readings"],
            published=c["published"],
            publish_errors=c["publish_errors"],
            commands=c["commands"],
        )

    async def run(self) -> None:
        """Run until :meth:`stop` (or cancellation): connect, read, publish, control."""
        self._stop.clear()
        async with self.endpoint:
            t = self._clock.time()
            self._state = FailSafeState.initial(t, switch_auto=self._relays.switch_auto())
            self._apply(t)
            loops: list[Coroutine[Any, Any, None]] = [self._control_loop()]
            if self._meter is not None:
                loops.append(self._meter_loop(self._meter))
            if self._zwave is not None:
                loops.append(self._zwave_loop(self._zwave))
            tasks = [asyncio.ensure_future(loop) for loop in loops]
            stopper: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
            try:
                await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
                for finished in tasks:
                    error = finished.exception() if finished.done() and not finished.cancelled() else None
                    if error is not None:
                        raise error
            finally:
                for pending in (*tasks, stopper):
                    pending.cancel()
                await asyncio.gather(*tasks, stopper, return_exceptions=True)
            if self._stop.is_set() and not await self.endpoint.flush(self._stop_grace_s):
                log.info(
                    "gateway %s: stopping with %d message(s) unconfirmed (sent again at the next start)",
                    self.name,
                    self.endpoint.outbox.pending_count,
                )

    async def stop(self) -> None:
        """Ask :meth:`run` to end: it stops reading, waits ``stop_grace_s`` at most for the outbox to be confirmed,
        then closes the endpoint and its outbox.
        """
        self._stop.set()

    # -- loops -----------------------------------------------------------------------------------------------

    async def _control_loop(self) -> None:
        while True:
            try:
                self.control_step()
            except Exception:  # a service's top loop: log, count, continue (style.md 5)
                log.exception("gateway %s: control step failed", self.name)
            await self._clock.sleep(self._control_period)

    def control_step(self) -> None:
        """Check the link and the switch, apply the fail-safe, re-publish held values that are due."""
        t = self._clock.time()
        s = on_link(self._state, self._policy, t, self.endpoint.connected)
        s = on_switch(s, self._policy, t, self._relays.switch_auto())
        self._state = on_tick(s, self._policy, t)
        self._apply(t)
        self._publish(self._sampler.due(t), t)

    async def _meter_loop(self, meter: MeterSource) -> None:
        async for push in meter.pushes():
            self.on_push(push)

    async def _zwave_loop(self, zwave: ZWaveSource) -> None:
        async for batch in zwave.readings():
            self.on_readings(batch)

    def on_push(self, push: Push) -> None:
        """A smart-meter push: offer its published values to the sampler and publish what is due.

        The push's time (the meter's clock) stamps the values, unless it is further than ``max_meter_skew_s``
        from the gateway's clock.
        """
        self._counts["pushes"] += 1
        now = self._clock.time()
        t = push.time.timestamp()
        if abs(t - now) > self._max_skew:
            log.warning("gateway %s: meter clock off by %.0f s; using the gateway's", self.name, t - now)
            t = now
        items: list[tuple[str, Value]] = []
        for series, value in meter_values(push.values):
            key = self._path(series.node, series.obj)
            out = self._sampler.offer(key, t, value)
            if out is not None:
                items.append((key, out))
        self._publish(items, t)

    def on_readings(self, batch: Sequence[DeviceReading]) -> None:
        """Z-Wave readings received together: stamped with the gateway's clock (Z-Wave reports carry no time)."""
        t = self._clock.time()
        items: dict[str, Value] = {}
        for reading in batch:
            self._counts["readings"] += 1
            key = self._path(reading.node, reading.obj)
            if key not in self._sampler:
                if key not in self._unknown:
                    self._unknown.add(key)
                    log.warning("gateway %s: reading of an undeclared device %s ignored", self.name, key)
                continue
            out = self._sampler.offer(key, t, reading.value)
            if out is not None:
                items[key] = out
        self._publish(list(items.items()), t)

    # -- relays, commands, publication -------------------------------------------------------------------------

    async def _on_set(self, path: AttributePath, attribute: Attribute) -> None:
        relay = _RELAY_CONTROLS.get(path.objects[0]) if path.node == "gateway" else None
        if relay is None or not isinstance(attribute.value, bool):
            return
        t = self._clock.time()
        issued = attribute.timestamp if attribute.timestamp is not None else t
        self._counts["commands"] += 1
        # A command that arrives proves the link is up, even before the next control tick has looked.
        state = on_link(self._state, self._policy, t, self.endpoint.connected or self._state.link_up)
        self._state = on_command(state, self._policy, t, relay, Command(attribute.value, issued))
        log.info("gateway %s: relay %d commanded %s", self.name, relay, "closed" if attribute.value else "open")
        self._apply(t)

    def _apply(self, t: float) -> None:
        """Drive the relays to the fail-safe's outputs and report what changed (Appendix 4.1.7).

        The relays' positions are read back only after they were driven: they change only then, and reading a
        board (or a simulated house's snapshot) at every control tick would cost a fleet of gateways dearly.
        """
        drove = False
        for i, closed in enumerate(self._state.relays):
            if self._driven[i] != closed:
                self._relays.set_relay(i + 1, closed)
                self._driven[i] = closed
                drove = True
        if drove or not self._reported:
            self._readback = (self._relays.relay_closed(1), self._relays.relay_closed(2))
        status = {
            "relay1State": self._readback[0],
            "relay2State": self._readback[1],
            "switchState": self._state.switch_auto,  # Appendix 4.1.7: auto 1 / manual 0
        }
        changed = [(self._path("gateway", k), v) for k, v in status.items() if self._reported.get(k) != v]
        if changed:
            self._publish(changed, t)
            self._reported.update(status)
            log.info("gateway %s: %s (mode %s)", self.name, status, self._state.mode)

    def _publish(self, items: Sequence[tuple[str, Value]], t: float) -> None:
        if not items:
            return
        try:
            if self._transactions:
                self.endpoint.transaction(items, timestamp=t)
                self._counts["published"] += len(items)
            else:
                # one @update per value (what cloud.iO applications subscribe to), one write to the SD card
                self.endpoint.update_many(items, timestamp=t)
                self._counts["published"] += len(items)
        except CloudioError as exc:  # a bad value or a full disk must not stop the gateway
            self._counts["publish_errors"] += 1
            log.warning("gateway %s: could not publish %s: %s", self.name, [p for p, _ in items], exc)
