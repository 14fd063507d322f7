"""Domestic hot water draws: stochastic tap events per house (pure; physics-and-grid.md 2).

Volumes are litres of 60 C water (the usual DHW reference: 40-50 L per person and day at 60 C). Four kinds of
draw, after the event classes of DHWcalc (Jordan and Vajen, IEA SHC Task 26) with Swiss shower habits:

=========  ===========================  ===================  ================
kind       events per person and day    mean volume [L]      hot flow [L/min]
=========  ===========================  ===================  ================
small tap  7                            1.2                  3.6
medium     1.3                          6                    6
shower     0.65                         38                   6
bath       0.04                         90                   12
=========  ===========================  ===================  ================

Volumes are rescaled so the expected total is ``litres_per_person_day`` (default 45 L). Each house has its own
habit factor (lognormal, sd 0.15). Start times follow a mixture of a morning, a midday and an evening peak in
local time (one hour later on weekends). A day's events are generated from the stream ``(seed, day)``, so the
draws of a step do not depend on which other steps were asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class DrawKind:
    """One class of tap events.

    Attributes:
        rate_per_person_day: expected events per person and day [1/d].
        mean_volume_l: mean volume at 60 C before rescaling [L].
        flow_l_per_min: hot-water flow while drawing [L/min].
        weights: share of events in the morning, midday and evening peaks [-] (sum 1).
    """

    rate_per_person_day: float
    mean_volume_l: float
    flow_l_per_min: float
    weights: tuple[float, float, float]


KINDS: Final = (
    DrawKind(7.0, 1.2, 3.6, (0.35, 0.25, 0.40)),
    DrawKind(1.3, 6.0, 6.0, (0.20, 0.35, 0.45)),
    DrawKind(0.65, 38.0, 6.0, (0.60, 0.05, 0.35)),
    DrawKind(0.04, 90.0, 12.0, (0.10, 0.00, 0.90)),
)
# Peaks [local hour], (centre, sd): morning, midday, evening.
PEAKS_H: Final = ((7.0, 0.9), (12.3, 0.8), (19.5, 1.5))
VOLUME_SD: Final = 0.5  # lognormal spread of one event's volume
MAX_DURATION_S: Final = 1800.0


@dataclass(frozen=True)
class DrawEvents:
    """Tap events sorted by start.

    Attributes:
        house: house index per event.
        start_s: event start, Unix time [s].
        end_s: event end, Unix time [s].
        flow_l_per_s: hot-water flow [L/s].
    """

    house: NDArray[np.intp]
    start_s: NDArray[np.float64]
    end_s: NDArray[np.float64]
    flow_l_per_s: NDArray[np.float64]


class DhwDraws:
    """Hot-water draws of ``n`` houses.

    Args:
        persons: inhabitants per house, shape ``(n,)`` (0 = nobody draws).
        seed: random seed.
        litres_per_person_day: expected draw per person and day at 60 C [L].
        timezone: the houses' clocks.

    Raises:
        ValueError: negative persons or a negative volume.
    """

    def __init__(
        self,
        persons: NDArray[np.int64],
        *,
        seed: int,
        litres_per_person_day: float = 45.0,
        timezone: str = "Europe/Zurich",
    ) -> None:
        if persons.size and int(persons.min()) < 0:
            raise ValueError("persons must be >= 0")
        if litres_per_person_day < 0:
            raise ValueError("litres_per_person_day must be >= 0")
        self.persons = np.asarray(persons, dtype=np.int64)
        self._n = self.persons.size
        self._seed = seed
        self._tz = ZoneInfo(timezone)
        expected = sum(k.rate_per_person_day * k.mean_volume_l for k in KINDS)
        self._volume_scale = litres_per_person_day / expected
        rng = np.random.default_rng([seed, 0xD4])
        sd = 0.15
        self.habit = np.exp(sd * rng.standard_normal(self._n) - sd * sd / 2)
        self._days: dict[int, DrawEvents] = {}

    def _day_start_s(self, day: date) -> float:
        return datetime(day.year, day.month, day.day, tzinfo=self._tz).timestamp()

    def day_events(self, day: date) -> DrawEvents:
        """The events starting on local day ``day`` (cached for the last few days)."""
        key = day.toordinal()
        cached = self._days.get(key)
        if cached is not None:
            return cached
        rng = np.random.default_rng([self._seed, 0xD5, key])
        start0 = self._day_start_s(day)
        length_s = self._day_start_s(day + timedelta(days=1)) - start0
        weekend_h = 1.0 if day.weekday() >= 5 else 0.0
        houses, starts, volumes, flows = [], [], [], []
        for kind in KINDS:
            counts = rng.poisson(kind.rate_per_person_day * self.persons)
            house = np.repeat(np.arange(self._n, dtype=np.intp), counts)
            m = house.size
            peak = rng.choice(3, size=m, p=kind.weights)
            centre = np.array([p[0] for p in PEAKS_H])[peak] + np.where(peak == 0, weekend_h, 0.0)
            hour = np.mod(centre + np.array([p[1] for p in PEAKS_H])[peak] * rng.standard_normal(m), 24.0)
            volume = (
                kind.mean_volume_l
                * self._volume_scale
                * self.habit[house]
                * np.exp(VOLUME_SD * rng.standard_normal(m) - VOLUME_SD**2 / 2)
            )
            houses.append(house)
            starts.append(start0 + hour / 24.0 * length_s)
            volumes.append(volume)
            flows.append(np.full(m, kind.flow_l_per_min / 60.0))
        house_a = np.concatenate(houses)
        start_a = np.concatenate(starts)
        flow_a = np.concatenate(flows)
        # A rare huge draw runs at a higher flow rather than for more than MAX_DURATION_S (volume kept).
        duration = np.concatenate(volumes) / flow_a
        flow_a = flow_a * np.maximum(1.0, duration / MAX_DURATION_S)
        duration = np.minimum(duration, MAX_DURATION_S)
        order = np.argsort(start_a, kind="stable")
        events = DrawEvents(
            house=house_a[order],
            start_s=start_a[order],
            end_s=(start_a + duration)[order],
            flow_l_per_s=flow_a[order],
        )
        if len(self._days) >= 4:
            self._days.pop(min(self._days))
        self._days[key] = events
        return events

    def litres(self, t0_s: float, t1_s: float) -> NDArray[np.float64]:
        """Litres (at 60 C) drawn by every house during ``[t0_s, t1_s)`` (Unix [s]), shape ``(n,)``.

        Raises:
            ValueError: ``t1_s < t0_s``.
        """
        if t1_s < t0_s:
            raise ValueError(f"interval [{t0_s}, {t1_s}) is reversed")
        out = np.zeros(self._n, dtype=np.float64)
        first = datetime.fromtimestamp(t0_s - MAX_DURATION_S, UTC).astimezone(self._tz).date()
        last = datetime.fromtimestamp(t1_s, UTC).astimezone(self._tz).date()
        day = first
        while day <= last:
            ev = self.day_events(day)
            lo = int(np.searchsorted(ev.start_s, t0_s - MAX_DURATION_S, side="left"))
            hi = int(np.searchsorted(ev.start_s, t1_s, side="left"))
            if hi > lo:
                overlap = np.minimum(ev.end_s[lo:hi], t1_s) - np.maximum(ev.start_s[lo:hi], t0_s)
                litres = np.clip(overlap, 0.0, None) * ev.flow_l_per_s[lo:hi]
                out += np.bincount(ev.house[lo:hi], weights=litres, minlength=self._n)
            day += timedelta(days=1)
        return out
