"""Interval metering from cumulative energy registers (pure).

A meter-data system does not need a reading *at* each slot boundary: it has the register values (cumulative
energy [kWh]) with their timestamps, as the gateway publishes them (seed Table 2: sub-meter energy every 15 s)
or the twin exposes them, and interpolates the register linearly at each boundary between the samples around
it. The energy of a slot is then the difference of the interpolated values at its two boundaries, so that

* every slot of an offer is metered once the register has a sample at or after the offer's end, however late
  or irregular the samples are (an agent whose loop wakes late at x600 still meters every slot);
* the slot energies sum exactly to the register's difference over the offer (they telescope), so nothing
  consumed is lost or counted twice between neighbouring slots.

A register that goes *down* by more than the meter's rounding is a replaced or restarted meter: the samples
after it start a new segment, and a boundary between two segments has no value (it cannot be interpolated
across the reset). :class:`RegisterTrail` keeps, per register, the few samples the interpolation needs (those
around each slot boundary) so that an adapter can hand them over cheaply.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from goflex.flex.foa.errors import InvalidDeviceState

ROUNDING_KWH = 0.001  # the sub-meters publish kWh with 3 decimals (Aeotec ZW095 emulator): a dip this small is noise


@dataclass(frozen=True, slots=True)
class RegisterSample:
    """One value of a cumulative energy register.

    Attributes:
        time: when the value was taken (aware UTC; the attribute's timestamp, not its arrival).
        energy_kwh: the register [kWh], consumption-positive, non-decreasing for a working meter.
    """

    time: datetime
    energy_kwh: float


class EnergyRegister:
    """The samples of one register, in time order, split into segments at meter resets.

    Args:
        rounding_kwh: a decrease up to this much [kWh] is the meter's rounding and is read as "unchanged".
    """

    def __init__(self, *, rounding_kwh: float = ROUNDING_KWH) -> None:
        self._rounding = rounding_kwh
        self._segments: list[list[RegisterSample]] = [[]]
        self.resets = 0

    @property
    def last(self) -> RegisterSample | None:
        """The latest sample, None before the first."""
        current = self._segments[-1]
        return current[-1] if current else None

    def add(self, sample: RegisterSample) -> bool:
        """Record ``sample``; a sample not newer than the latest is ignored (a repeat or a late arrival).

        Returns:
            True if recorded.

        Raises:
            InvalidDeviceState: the value is not a finite number ``>= 0`` [kWh] (field ``energy_kwh``).
        """
        if not (math.isfinite(sample.energy_kwh) and sample.energy_kwh >= 0):
            raise InvalidDeviceState("energy_kwh", f"a cumulative register must be finite and >= 0, got {sample}")
        last = self.last
        if last is not None and sample.time <= last.time:
            return False
        if last is not None and sample.energy_kwh < last.energy_kwh:
            if last.energy_kwh - sample.energy_kwh <= self._rounding:
                sample = RegisterSample(sample.time, last.energy_kwh)
            else:  # the meter was replaced or restarted: no interpolation across this point
                self.resets += 1
                self._segments.append([])
        self._segments[-1].append(sample)
        return True

    def samples(self) -> tuple[RegisterSample, ...]:
        """Every sample kept, oldest first (across segments)."""
        return tuple(x for segment in self._segments for x in segment)

    def value_at(self, t: datetime) -> float | None:
        """The register at ``t`` [kWh], linear between the samples around it; None outside every segment."""
        located = self._locate(t)
        return None if located is None else located[1]

    def energy_between(self, start: datetime, end: datetime) -> float | None:
        """The energy from ``start`` to ``end`` [kWh]; None unless both have a value in the same segment."""
        a, b = self._locate(start), self._locate(end)
        if a is None or b is None or a[0] != b[0]:
            return None  # a boundary outside the samples, or a meter reset in between
        return b[1] - a[1]

    def _locate(self, t: datetime) -> tuple[int, float] | None:
        for k, segment in enumerate(self._segments):
            if not segment or not segment[0].time <= t <= segment[-1].time:
                continue
            i = bisect_right([s.time for s in segment], t)
            before = segment[i - 1]
            if before.time == t or i == len(segment):
                return k, before.energy_kwh
            after = segment[i]
            share = (t - before.time) / (after.time - before.time)
            return k, before.energy_kwh + share * (after.energy_kwh - before.energy_kwh)
        return None

    def covers(self, t: datetime) -> bool:
        """Whether a sample at or after ``t`` is in (the boundary ``t`` can be interpolated once it is bracketed)."""
        last = self.last
        return last is not None and last.time >= t

    def prune(self, before: datetime) -> None:
        """Forget what no boundary at or after ``before`` needs: keep the last sample at or before it."""
        kept: list[list[RegisterSample]] = []
        for segment in self._segments:
            if segment and segment[-1].time < before and segment is not self._segments[-1]:
                continue
            i = bisect_right([s.time for s in segment], before)
            kept.append(segment[max(i - 1, 0) :])
        self._segments = kept or [[]]

    def __len__(self) -> int:
        return sum(len(s) for s in self._segments)


def interval_energies(
    registers: Sequence[EnergyRegister], starts: Sequence[datetime], slot: timedelta
) -> list[tuple[datetime, float]]:
    """Energy per slot [kWh] of the sum of ``registers`` (e.g. the clamps behind one relay).

    Args:
        registers: the registers summed (a slot is metered only if every one of them has both boundaries).
        starts: slot starts, in order.
        slot: the slot length.

    Returns:
        ``(start, energy_kwh)`` for every slot whose two boundaries have a value in every register, in order;
        slots without are left out (see :func:`covered`).
    """
    out: list[tuple[datetime, float]] = []
    for start in starts:
        parts = [r.energy_between(start, start + slot) for r in registers]
        if registers and all(p is not None for p in parts):
            out.append((start, sum(p for p in parts if p is not None)))
    return out


def covered(registers: Iterable[EnergyRegister], end: datetime) -> bool:
    """Whether every register has a sample at or after ``end`` (the offer's metering can be final)."""
    regs = list(registers)
    return bool(regs) and all(r.covers(end) for r in regs)


class RegisterTrail:
    """The samples of a register that interval metering needs: the two around each slot boundary, and the latest.

    An adapter receiving a register every 15 s keeps this instead of the whole history: the agent, however late
    it reads, gets the exact published samples that bracket each boundary of the last ``boundaries`` slots.

    Args:
        slot_s: the slot length [s] (the 15-min grid).
        boundaries: how many boundaries are remembered.
    """

    def __init__(self, slot_s: int, boundaries: int = 8) -> None:
        self._slot_s = slot_s
        self._kept: deque[RegisterSample] = deque(maxlen=2 * boundaries)
        self.latest: RegisterSample | None = None

    def add(self, sample: RegisterSample) -> None:
        """Record the latest published value (older or repeated timestamps are ignored)."""
        prev = self.latest
        if prev is not None and sample.time <= prev.time:
            return
        if prev is None:  # the first one: it may sit on a boundary itself
            self._kept.append(sample)
        elif self._slot(prev) != self._slot(sample):
            if not self._kept or self._kept[-1] != prev:
                self._kept.append(prev)
            self._kept.append(sample)
        self.latest = sample

    def _slot(self, sample: RegisterSample) -> int:
        return int(sample.time.timestamp()) // self._slot_s

    def samples(self) -> tuple[RegisterSample, ...]:
        """The kept samples and the latest, in time order without repeats."""
        out = list(self._kept)
        if self.latest is not None and (not out or out[-1] != self.latest):
            out.append(self.latest)
        return tuple(out)
