"""The Direct Control FlexOffer Agent: one FOA for many houses (delegated trading, seed 2.2; service).

An asyncio loop on a :class:`~goflex.common.clock.Clock`:

1. every ``heartbeat_s`` (pilot agents: 60 s): read the houses, make an interruption offer for each relay that
   has none open (:mod:`goflex.flex.foa.tcl`, physics from :mod:`goflex.flex.foa.direct_control`), submit it to
   FMAN (``Idempotency-Key`` = offer id, so a retry after a lost answer is harmless), then heartbeat: acknowledge
   what was taken last time, receive schedules and rejections;
2. a schedule becomes relay commands (:func:`goflex.flex.foa.execution.relay_plan`) executed at their instants
   through :class:`~goflex.flex.foa.devices.DeviceCommands`; a rejection - or no schedule by
   ``assignmentBeforeTime`` - means the baseline: the relay stays closed;
3. comfort wins: a relay the agent holds open is closed at once when its tank or room falls below its minimum;
   a command the IoT layer could not deliver is sent again every ``command_retry_s`` until it goes through or a
   newer command for the same relay replaces it: while the link is up the gateway keeps the last command it
   received (seed 3.2.5.6), so a lost "close" would otherwise block that heater indefinitely;
4. after an assigned offer's last slot, the metered energy per slot is sent to FMAN (``POST /metering``); the
   deviation from the schedule (e.g. after a comfort override) is what FMAN settles. The energy comes from the
   relays' cumulative energy registers, interpolated at each slot boundary between the timestamped samples
   around it (:mod:`goflex.flex.foa.metering`), so every slot is metered exactly once however late the loop
   wakes; the metering goes out once a sample at or after the offer's end is in (or, for a silent meter,
   ``metering_wait_s`` after the end, with the slots that can be valued).

Errors in one cycle are logged, counted and the loop goes on (FMAN down: offers are resubmitted and heartbeats
repeated at the next cycle; the relays fall back to closed through the baselines and the gateways' fail-safe).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from goflex.common.clock import Clock
from goflex.flex.errors import InvalidFlexOffer
from goflex.flex.foa.devices import DeviceCommands, HouseReader, HouseReading, relay_device_id, relay_loads
from goflex.flex.foa.direct_control import ComfortSettings, comfort_lost, relay_forecast
from goflex.flex.foa.errors import FmanRejected, FmanUnavailable, FoaError, IllegalTransition
from goflex.flex.foa.execution import RelayCommand, Timeline, relay_plan
from goflex.flex.foa.fman_client import Delivery, FmanClient
from goflex.flex.foa.framing import SLOT_S, OfferTiming, slot_floor
from goflex.flex.foa.lifecycle import Lifecycle
from goflex.flex.foa.metering import EnergyRegister, covered, interval_energies
from goflex.flex.foa.tcl import Interruption, InterruptionLimits, interruption_offer
from goflex.flex.model import FlexOffer, FlexOfferState, Schedule
from goflex.twin.house import HouseSpec

log = logging.getLogger(__name__)
S = FlexOfferState


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """The agent's settings.

    Attributes:
        heartbeat_s: seconds of the platform clock between heartbeats (pilot: 60).
        limits: daily interruption limits per relay.
        comfort: comfort bounds and forecast assumptions.
        price_down_eur_per_kwh: asked for each kWh not consumed [EUR/kWh].
        accept_lead_s, assignment_lead_s: deadlines before an offer's start [s].
        submission_margin_s: least time between an offer's creation and its ``acceptBeforeTime`` [s], so that
            FMAN receives and accepts it in time even when the event loop lags (at x600 a few real milliseconds
            are simulated minutes).
        location_id: grid location written into the offers.
        metering_wait_s: how long after an offer's end the agent waits for its registers' samples before it
            sends the slots it can value [s] (a meter gone silent; FMAN counts the others as baseline).
        command_retry_s: how long after a failed relay command it is sent again [s].
    """

    heartbeat_s: float = 60.0
    limits: InterruptionLimits = field(default_factory=InterruptionLimits)
    comfort: ComfortSettings = field(default_factory=ComfortSettings)
    price_down_eur_per_kwh: float = 0.06
    accept_lead_s: float = 1800.0
    assignment_lead_s: float = 900.0
    submission_margin_s: float = 300.0
    location_id: str | None = None
    metering_wait_s: float = 1800.0
    command_retry_s: float = 30.0


@dataclass
class AgentCounters:
    """What the agent did and refused, for logs and tests."""

    offers_made: int = 0
    offers_accepted: int = 0
    offers_rejected: int = 0
    schedules: int = 0
    baselines: int = 0
    invalid_schedules: int = 0
    unknown_deliveries: int = 0
    illegal_transitions: int = 0
    commands: int = 0
    command_errors: int = 0
    command_retries: int = 0
    overrides: int = 0
    metered: int = 0
    metered_intervals: int = 0
    metering_incomplete: int = 0
    register_refused: int = 0
    fman_unavailable: int = 0
    fman_rejected: int = 0
    cycle_errors: int = 0


@dataclass
class TrackedOffer:
    """One offer of one relay and what became of it."""

    device_id: str
    offer: FlexOffer
    life: Lifecycle
    interruption: Interruption
    schedule: Schedule | None = None
    overridden: str | None = None

    @property
    def end(self) -> datetime:
        """End of the offer's last slot."""
        return self.offer.start_after_time + timedelta(seconds=SLOT_S * len(self.offer.profile))


class DirectControlAgent:
    """One FOA for many Direct Control houses (see the module docstring).

    Args:
        houses: the houses' metadata.
        fman: FMAN's client with the agent's token.
        devices: where relay commands go (twin or IoT layer).
        reader: where sensor readings come from (the same place).
        clock: the platform clock.
        settings: the agent's settings.
    """

    def __init__(
        self,
        *,
        houses: Sequence[HouseSpec],
        fman: FmanClient,
        devices: DeviceCommands,
        reader: HouseReader,
        clock: Clock,
        settings: AgentSettings | None = None,
    ) -> None:
        self.houses = {h.name: h for h in houses}
        self.fman = fman
        self.devices = devices
        self.reader = reader
        self.clock = clock
        self.settings = settings or AgentSettings()
        self.counters = AgentCounters()
        self.timeline = Timeline()
        self.offers: dict[str, TrackedOffer] = {}
        self.history: dict[str, list[Interruption]] = {}
        self.registers: dict[str, dict[str, EnergyRegister]] = {}  # device -> channel -> cumulative energy
        self.relay_open: set[str] = set()
        self.undelivered: dict[str, RelayCommand] = {}  # device -> its latest command that failed
        self._ack: set[str] = set()
        self._quiet_until: dict[str, datetime] = {}

    # -- the loop --------------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set (or forever)."""
        stop = stop or asyncio.Event()
        next_beat = self.clock.now()
        while not stop.is_set():
            now = self.clock.now()
            try:
                await self.execute_due(now)
                readings = await self.sample(now)
                if now >= next_beat:
                    await self.cycle(now, readings)
                    next_beat = now + timedelta(seconds=self.settings.heartbeat_s)
                await self.meter(self.clock.now())
            except Exception:  # the service's top loop: log, count, continue (style.md 5)
                self.counters.cycle_errors += 1
                log.exception("foa: cycle failed")
            retry = now + timedelta(seconds=self.settings.command_retry_s) if self.undelivered else None
            times = (next_beat, self.timeline.next_time(), slot_floor(now) + _SLOT, retry)
            wake = min(t for t in times if t is not None)
            await self.clock.sleep(max((wake - self.clock.now()).total_seconds(), 0.0))

    async def cycle(self, now: datetime, readings: dict[str, HouseReading] | None = None) -> None:
        """One heartbeat cycle: readings (taken now unless given), comfort, deadlines, new offers, heartbeat."""
        if readings is None:
            readings = await self._read_all()
            self._record(readings)
        await self._protect_comfort(now, readings)
        self._expire(now)
        for reading in readings.values():
            for relay in relay_loads(self.houses[reading.house]):
                await self._offer(now, reading, relay)
        await self._heartbeat(now, readings)

    # -- steps -----------------------------------------------------------------------------------------------
    async def _read_all(self) -> dict[str, HouseReading]:
        readings = {}
        for name in self.houses:
            try:
                readings[name] = await self.reader.read(name)
            except FoaError as exc:
                log.debug("foa: no reading of %s: %s", name, exc)
        return readings

    async def execute_due(self, now: datetime) -> None:
        """Send again the commands that failed (unless replaced), then carry out those whose time has come."""
        due = self.timeline.due(now)
        replaced = {c.device_id for c in due if isinstance(c, RelayCommand)}
        for device_id, failed in sorted(self.undelivered.items()):
            if device_id not in replaced:
                self.counters.command_retries += 1
                await self._apply(failed)
        for command in due:
            await self._apply(command)

    async def _apply(self, command: RelayCommand | object) -> None:
        if not isinstance(command, RelayCommand):
            self.counters.command_errors += 1
            return
        try:
            await self.devices.apply(command)
        except Exception:  # a device that cannot be reached must not stop the others
            self.counters.command_errors += 1
            self.undelivered[command.device_id] = command
            log.exception("foa: command %s failed; sent again in %.0f s", command, self.settings.command_retry_s)
            return
        self.undelivered.pop(command.device_id, None)
        self.counters.commands += 1
        (self.relay_open.discard if command.closed else self.relay_open.add)(command.device_id)

    async def sample(self, now: datetime) -> dict[str, HouseReading]:
        """Read every house and record its registers' new samples (for the metering); return the readings."""
        readings = await self._read_all()
        self._record(readings)
        self._prune(now)
        return readings

    def _record(self, readings: dict[str, HouseReading]) -> None:
        for name, reading in readings.items():
            for register in reading.registers:
                channels = self.registers.setdefault(relay_device_id(name, register.relay), {})
                energy = channels.setdefault(register.channel, EnergyRegister())
                for sample in register.samples:
                    try:
                        energy.add(sample)
                    except FoaError as exc:  # a bad value is refused and counted; the register goes on
                        self.counters.register_refused += 1
                        log.warning("foa: %s %s: %s", name, register.channel, exc)

    @property
    def samples(self) -> dict[str, dict[datetime, float]]:
        """Each relay's cumulative energy [kWh] at the slot boundaries its registers cover (channels summed).

        A view of :attr:`registers` for tests and logs: the metering of a slot is the difference of its two
        boundaries. Registers are kept for the unmetered offers and at least ``_REGISTER_HISTORY``.
        """
        out: dict[str, dict[datetime, float]] = {}
        for device_id, channels in self.registers.items():
            regs = list(channels.values())
            spans = [r.samples() for r in regs]
            if not regs or not all(spans):
                continue
            first = slot_floor(max(s[0].time for s in spans))
            boundaries: dict[datetime, float] = {}
            t = first
            while t <= min(s[-1].time for s in spans):
                values = [r.value_at(t) for r in regs]
                if all(v is not None for v in values):
                    boundaries[t] = sum(v for v in values if v is not None)
                t += _SLOT
            out[device_id] = boundaries
        return out

    def _prune(self, now: datetime) -> None:
        """Keep each register from the first boundary an unmetered offer of its relay still needs."""
        open_states = (S.INITIAL, S.OFFERED, S.ACCEPTED, S.ASSIGNED)
        needed: dict[str, datetime] = {}
        for t in self.offers.values():
            if t.life.state in open_states:
                start = min(t.offer.start_after_time, needed.get(t.device_id, t.offer.start_after_time))
                needed[t.device_id] = start
        for device_id, channels in self.registers.items():
            keep_from = min(needed.get(device_id, now), now - _REGISTER_HISTORY)
            for register in channels.values():
                register.prune(keep_from)

    async def _protect_comfort(self, now: datetime, readings: dict[str, HouseReading]) -> None:
        # an opening still waiting to be sent again counts as open: comfort must not be lost by its late delivery
        opening = {d for d, c in self.undelivered.items() if not c.closed}
        for device_id in sorted(self.relay_open | opening):
            house, relay = device_id.split("/relay")
            reading = readings.get(house)
            why = comfort_lost(self.houses[house], int(relay), reading, self.settings.comfort) if reading else None
            if why is None:
                continue
            log.info("foa: %s: %s, relay closed (comfort wins)", device_id, why)
            self.counters.overrides += 1
            await self._apply(self.timeline.override(device_id, now))
            for tracked in self.offers.values():
                if tracked.device_id == device_id and tracked.life.state is S.ASSIGNED and tracked.end > now:
                    tracked.overridden = why

    def _expire(self, now: datetime) -> None:
        for tracked in self.offers.values():
            state, offer = tracked.life.state, tracked.offer
            if state in (S.OFFERED, S.ACCEPTED) and now >= offer.assignment_before_time:
                tracked.life.move(S.REJECTED, now, "unanswered_by_deadline")
                self._baseline(tracked)
            elif state is S.INITIAL and now >= offer.accept_before_time:
                tracked.life.move(S.CANCELED, now, "not_submitted_in_time")

    def _baseline(self, tracked: TrackedOffer) -> None:
        """Rejected or unanswered: run the baseline (relay closed, nothing planned)."""
        self.counters.baselines += 1
        self.timeline.cancel(tracked.device_id)
        self._quiet_until[tracked.device_id] = tracked.offer.start_after_time

    def _busy(self, device_id: str, now: datetime) -> bool:
        if now < self._quiet_until.get(device_id, now):
            return True
        return any(
            t.device_id == device_id
            and (t.life.state in (S.INITIAL, S.OFFERED, S.ACCEPTED) or (t.life.state is S.ASSIGNED and now < t.end))
            for t in self.offers.values()
        )

    async def _offer(self, now: datetime, reading: HouseReading, relay: int) -> None:
        device_id = relay_device_id(reading.house, relay)
        pending = [t for t in self.offers.values() if t.device_id == device_id and t.life.state is S.INITIAL]
        if pending:
            await self._submit(now, pending[0])  # a retry: the same offer, the same key
            return
        if self._busy(device_id, now):
            return
        now = self.clock.now()  # the cycle's start may be minutes of simulated time ago at high speeds
        forecast = relay_forecast(self.houses[reading.house], relay, reading, now, self.settings.comfort)
        if forecast is None:
            return
        s = self.settings
        timing = OfferTiming(
            now,
            timedelta(seconds=s.accept_lead_s),
            timedelta(seconds=s.assignment_lead_s),
            timedelta(seconds=s.submission_margin_s),
        )
        made = interruption_offer(
            forecast,
            s.limits,
            self.history.get(device_id, []),
            offer_id=f"{reading.house}-r{relay}-{int(now.timestamp()) // SLOT_S}",
            offered_by_id=reading.house,
            timing=timing,
            price_down_eur_per_kwh=s.price_down_eur_per_kwh,
            location_id=s.location_id,
        )
        if made is None:
            return
        offer = replace(made.offer, state=S.OFFERED)
        tracked = TrackedOffer(device_id, offer, Lifecycle(offer.id), made.interruption)
        self.offers[offer.id] = tracked
        self.counters.offers_made += 1
        await self._submit(now, tracked)

    async def _submit(self, now: datetime, tracked: TrackedOffer) -> None:
        try:
            answer = await self.fman.submit(tracked.offer)
        except FmanUnavailable as exc:
            self.counters.fman_unavailable += 1
            log.warning("foa: offer %s not submitted: %s", tracked.offer.id, exc)
            return
        except FmanRejected as exc:
            self.counters.fman_rejected += 1
            tracked.life.move(S.INVALID, now, exc.code)
            self._quiet_until[tracked.device_id] = tracked.offer.start_after_time
            return
        tracked.life.move(S.OFFERED, now)
        if answer.state == "accepted":
            self.counters.offers_accepted += 1
            tracked.life.move(S.ACCEPTED, now)
        else:
            self.counters.offers_rejected += 1
            tracked.life.move(S.REJECTED, now, answer.reason or answer.state)
            self._baseline(tracked)

    async def _heartbeat(self, now: datetime, readings: dict[str, HouseReading]) -> None:
        power = sum(r.power_w for r in readings.values())
        ack = sorted(self._ack)
        try:
            answer = await self.fman.heartbeat(power_w=power, ack=ack)
        except FmanUnavailable as exc:
            self.counters.fman_unavailable += 1
            log.warning("foa: heartbeat failed: %s", exc)
            return
        self._ack -= set(ack)
        for delivery in answer.schedules:
            self._deliver(now, delivery)
            self._ack.add(delivery.offer_id)
        for offer_id, reason in answer.rejected:
            self._reject(now, offer_id, reason)
            self._ack.add(offer_id)

    def _deliver(self, now: datetime, delivery: Delivery) -> None:
        tracked = self.offers.get(delivery.offer_id)
        if tracked is None:
            self.counters.unknown_deliveries += 1
            return
        if tracked.schedule is not None and tracked.schedule == delivery.schedule:
            return  # the same delivery again (our ack was lost): already planned
        try:
            if delivery.schedule is None:
                raise InvalidFlexOffer("flexOfferSchedule", delivery.problem or "unreadable")
            plan = relay_plan(tracked.device_id, tracked.offer, delivery.schedule)
            tracked.life.move(S.ASSIGNED, now)
        except InvalidFlexOffer as exc:
            self.counters.invalid_schedules += 1
            log.warning("foa: schedule of %s refused: %s", delivery.offer_id, exc)
            self._reject(now, delivery.offer_id, "invalid_schedule")
            return
        except IllegalTransition as exc:
            self.counters.illegal_transitions += 1
            log.warning("foa: %s", exc)
            return
        tracked.schedule = delivery.schedule
        self.counters.schedules += 1
        self.timeline.cancel(tracked.device_id)
        self.timeline.add(plan)
        opened = [c.at for c in plan if not c.closed]
        if opened:
            self.history.setdefault(tracked.device_id, []).append(Interruption(opened[0], plan[-1].at))

    def _reject(self, now: datetime, offer_id: str, reason: str) -> None:
        tracked = self.offers.get(offer_id)
        if tracked is None:
            self.counters.unknown_deliveries += 1
            return
        if tracked.life.state is S.REJECTED:
            return  # already running the baseline
        try:
            tracked.life.move(S.REJECTED, now, reason)
        except IllegalTransition as exc:
            self.counters.illegal_transitions += 1
            log.warning("foa: %s", exc)
            return
        self.counters.offers_rejected += 1
        self._baseline(tracked)

    async def meter(self, now: datetime) -> None:
        """Send the metering of every assigned offer that has ended and whose registers have a sample past its end.

        Once per offer: it then becomes ``executed``. A register silent for ``metering_wait_s`` after the end
        sends the slots that can be valued (FMAN counts the others as baseline), or none at all.
        """
        wait = timedelta(seconds=self.settings.metering_wait_s)
        for tracked in self.offers.values():
            if tracked.life.state is not S.ASSIGNED or tracked.schedule is None or now < tracked.end:
                continue
            registers = list(self.registers.get(tracked.device_id, {}).values())
            complete = covered(registers, tracked.end)
            if not complete and now < tracked.end + wait:
                continue
            start = tracked.schedule.start_time
            starts = [start + k * _SLOT for k in range(len(tracked.offer.profile))]
            intervals = interval_energies(registers, starts, _SLOT)
            if len(intervals) < len(starts):
                self.counters.metering_incomplete += 1
                log.warning("foa: %s: %d of %d slots metered", tracked.offer.id, len(intervals), len(starts))
            if intervals:
                try:
                    await self.fman.meter(tracked.offer.id, intervals)
                except FmanUnavailable as exc:  # sent again at the next wake
                    self.counters.fman_unavailable += 1
                    log.warning("foa: metering of %s not sent: %s", tracked.offer.id, exc)
                    continue
                except FmanRejected as exc:  # refused: the same request would be refused again
                    self.counters.fman_rejected += 1
                    log.warning("foa: metering of %s refused: %s", tracked.offer.id, exc)
                    tracked.life.move(S.EXECUTED, now, f"metering_refused_{exc.code}")
                    continue
                self.counters.metered += 1
                self.counters.metered_intervals += len(intervals)
            tracked.life.move(S.EXECUTED, now, tracked.overridden or (None if intervals else "not_metered"))


_SLOT = timedelta(seconds=SLOT_S)
_REGISTER_HISTORY = timedelta(hours=2)  # register samples kept after metering, for inspection (``samples``)
