"""From an assigned schedule to device commands at the right instants, and back to the deviation (pure).

* Relay devices (Direct Control heating, seed 3.2.5.4 rule 5: relay closed = heating enabled): a slice that
  the offer marks interruptible (it carries a tariff constraint, see :mod:`goflex.flex.foa.tcl`) and whose
  scheduled energy lies below its baseline opens the relay for the share ``(baseline - scheduled) / baseline`` of
  the slot, from the slot's start, rounded to ``resolution_s``; every other instant the relay is closed and the
  device's own thermostat decides (the rebound). The plan always ends with the relay closed.
* Power devices (EV charger, battery, factory process): one power set point per slice, ``energy / duration``,
  and 0 at the end of the schedule.
* Wet devices: one start command at the schedule's start.
* Baseline (rejected or unanswered by ``assignmentBeforeTime``): the same planners applied to the
  ``defaultSchedule``; for a relay device that is "relay closed".
* Comfort wins (flexoffer.md 2: the device is restored when the temperature leaves its band): :class:`Timeline`
  drops a device's pending commands and closes its relay at once; the deviation from the schedule is then
  reported with the metering (:func:`deviation_kwh`).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.model import FlexOffer, Schedule
from goflex.flex.validation import require_valid, validate_schedule

RELAY_RESOLUTION_S = 60
"""Relay timing resolution [s]: the gateway's sampling period (seed 3.2.5.5: sensors once per minute)."""


@dataclass(frozen=True, slots=True)
class RelayCommand:
    """Drive a relay: ``closed`` = heating enabled."""

    at: datetime
    device_id: str
    closed: bool


@dataclass(frozen=True, slots=True)
class PowerSetpoint:
    """Set a device's power [W] (consumption-positive: a battery delivering has a negative set point)."""

    at: datetime
    device_id: str
    power_w: float


@dataclass(frozen=True, slots=True)
class StartCycle:
    """Start a wet device's programmed cycle."""

    at: datetime
    device_id: str


Command = RelayCommand | PowerSetpoint | StartCycle


def _slot_bounds(offer: FlexOffer, schedule: Schedule) -> list[tuple[datetime, datetime]]:
    out, t = [], schedule.start_time
    for item in schedule.slices:
        end = t + timedelta(seconds=offer.num_seconds_per_interval * item.duration)
        out.append((t, end))
        t = end
    return out


def relay_plan(
    device_id: str, offer: FlexOffer, schedule: Schedule, *, resolution_s: int = RELAY_RESOLUTION_S
) -> list[RelayCommand]:
    """The relay transitions that execute ``schedule`` (see the module docstring).

    Raises:
        InvalidFlexOffer: the schedule is not valid for the offer.
        InvalidDeviceState: the offer has no default schedule (no baseline to interrupt).
    """
    require_valid(validate_schedule(offer, schedule))
    if offer.default_schedule is None:
        raise InvalidDeviceState("defaultSchedule", "a relay device's offer needs its baseline")
    wanted: list[tuple[datetime, bool]] = [(schedule.start_time, True)]
    slots = _slot_bounds(offer, schedule)
    for (start, end), item, base, profile in zip(
        slots, schedule.slices, offer.default_schedule.slices, offer.profile, strict=True
    ):
        if profile.tariff_constraint is None or base.energy_amount <= 0:
            continue
        share = min(1.0, max(0.0, (base.energy_amount - item.energy_amount) / base.energy_amount))
        open_s = round(share * (end - start).total_seconds() / resolution_s) * resolution_s
        if open_s > 0:
            wanted += [(start, False), (start + timedelta(seconds=open_s), True)]
    wanted.append((slots[-1][1], True))
    return _transitions(device_id, wanted)


def _transitions(device_id: str, wanted: Sequence[tuple[datetime, bool]]) -> list[RelayCommand]:
    """Keep the last wish per instant, then only the changes (the first command is always kept)."""
    latest: dict[datetime, bool] = {}
    for at, closed in wanted:
        latest[at] = closed
    out: list[RelayCommand] = []
    for at in sorted(latest):
        if not out or out[-1].closed != latest[at]:
            out.append(RelayCommand(at, device_id, latest[at]))
    return out


def power_plan(device_id: str, offer: FlexOffer, schedule: Schedule) -> list[PowerSetpoint]:
    """One set point per slice [W] (``energy / duration``), then 0 at the end.

    Raises:
        InvalidFlexOffer: the schedule is not valid for the offer.
    """
    require_valid(validate_schedule(offer, schedule))
    out = []
    for (start, end), item in zip(_slot_bounds(offer, schedule), schedule.slices, strict=True):
        out.append(PowerSetpoint(start, device_id, item.energy_amount * 3.6e6 / (end - start).total_seconds()))
    out.append(PowerSetpoint(_slot_bounds(offer, schedule)[-1][1], device_id, 0.0))
    return out


def start_plan(device_id: str, offer: FlexOffer, schedule: Schedule) -> list[StartCycle]:
    """Start the cycle at the schedule's start.

    Raises:
        InvalidFlexOffer: the schedule is not valid for the offer.
    """
    require_valid(validate_schedule(offer, schedule))
    return [StartCycle(schedule.start_time, device_id)]


def baseline_schedule(offer: FlexOffer) -> Schedule:
    """The schedule the prosumer runs when nothing is assigned: the offer's ``defaultSchedule``.

    Raises:
        InvalidDeviceState: the offer has none.
    """
    if offer.default_schedule is None:
        raise InvalidDeviceState("defaultSchedule", "an offer without a baseline cannot fall back to it")
    return offer.default_schedule


def deviation_kwh(
    offer: FlexOffer, schedule: Schedule, metered: Sequence[tuple[datetime, float]]
) -> list[tuple[datetime, float]]:
    """Metered minus scheduled energy per slice [kWh], for the slices a metered interval starts at.

    Args:
        offer: the offer (for the interval length).
        schedule: what was scheduled.
        metered: ``(interval start, energy [kWh])`` as measured.
    """
    measured = dict(metered)
    out = []
    for (start, _), item in zip(_slot_bounds(offer, schedule), schedule.slices, strict=True):
        if start in measured:
            out.append((start, measured[start] - item.energy_amount))
    return out


@dataclass
class Timeline:
    """Pending device commands in time order, with the comfort override.

    ``due(now)`` hands out the commands whose time has come; ``override(device, now)`` drops the device's pending
    commands and returns a relay-closing command for ``now`` (comfort wins), counted in ``overrides``.
    """

    _pending: list[tuple[datetime, int, Command]] = field(default_factory=list)
    _order: int = 0
    overrides: int = 0

    def add(self, commands: Sequence[Command]) -> None:
        """Schedule commands (those of one plan replace nothing: cancel a device's first to replace)."""
        for c in commands:
            self._order += 1
            bisect.insort(self._pending, (c.at, self._order, c), key=lambda e: (e[0], e[1]))

    def cancel(self, device_id: str) -> int:
        """Drop a device's pending commands; returns how many."""
        before = len(self._pending)
        self._pending = [e for e in self._pending if e[2].device_id != device_id]
        return before - len(self._pending)

    def due(self, now: datetime) -> list[Command]:
        """Remove and return the commands at or before ``now``, in time order."""
        cut = 0
        while cut < len(self._pending) and self._pending[cut][0] <= now:
            cut += 1
        due, self._pending = [e[2] for e in self._pending[:cut]], self._pending[cut:]
        return due

    def next_time(self) -> datetime | None:
        """When the next command is due, if any."""
        return self._pending[0][0] if self._pending else None

    def pending(self, device_id: str | None = None) -> list[Command]:
        """Pending commands (of one device)."""
        return [e[2] for e in self._pending if device_id is None or e[2].device_id == device_id]

    def override(self, device_id: str, now: datetime) -> RelayCommand:
        """Comfort wins: drop the device's pending commands and close its relay now."""
        self.cancel(device_id)
        self.overrides += 1
        return RelayCommand(now, device_id, True)
