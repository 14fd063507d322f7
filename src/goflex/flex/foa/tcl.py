"""Interruption offers of thermostatically controlled loads: water heaters, heat pumps, direct heating (pure).

GOFLEX FOA practice (flexoffer.md 2): offer an interruption of up to N slices; limits per day on the number of
interruptions, their length and the distance between them; comfort first. Seed 2.2.1.1: heating loads "can be
interrupted momentarily without impact on the end user", thanks to the storage in the tank or the building.

The device's physics forecast (:mod:`goflex.flex.foa.thermal`) is run with the relay closed (the baseline) over
``search_slots`` candidate starts plus the longest interruption and its rebound. Candidates (start, length in
``[min_slots, max_slots]``) that respect the daily limits, keep comfort in the baseline and interrupt at least
``min_kwh`` of baseline energy are ranked by the energy they interrupt (most first), then by length (shortest:
no idle slot blocked), then by start (earliest). The first whose interrupted run - relay open during the
interruption, closed for ``rebound_slots`` after - keeps comfort in every slot (margin >= 0) becomes the offer:

* interruption slices: ``[interrupted, baseline]`` (the interrupted energy is 0 with the relay open), with the
  tariff constraint that prices the "down" flexibility;
* rebound slices: between the baseline and the interrupted run's energies (the heater recovers what it missed),
  without a tariff constraint: they are the consequence of the interruption, not for sale;
* the start is fixed (EST = LST): the forecast depends on it.

The tariff constraint marks the interruptible slices for the execution planner (:mod:`goflex.flex.foa.execution`),
which opens the relay for the share ``(baseline - scheduled) / baseline`` of such a slice. Any valid schedule
blocks the heater no longer than the forecast's full interruption did; an open-relay tank cools along the same
contraction whatever its temperature, so a shorter block never ends colder (checked by a property test).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.foa.framing import SLOT_S, OfferTiming, SliceSpec, build_offer
from goflex.flex.foa.thermal import ThermalForecast
from goflex.flex.model import FlexOffer

MIN_MARGIN_K = 0.0
"""Comfort margin every slot of the interrupted forecast must keep [K]."""


@dataclass(frozen=True, slots=True)
class InterruptionLimits:
    """Daily limits of a device's interruptions (the pilot's FOA settings).

    Attributes:
        min_slots: shortest interruption [slots] (>= 1).
        max_slots: longest interruption N [slots] (>= min_slots).
        max_per_day: interruptions per UTC day (>= 1).
        min_gap_slots: slots between the end of one interruption and the start of the next (>= 0).
        rebound_slots: slots after an interruption in the offer, for the recovery (>= 0).
        search_slots: how many candidate starts to try from the earliest start (>= 1).
        min_kwh: least baseline energy during the interruption worth offering [kWh] (>= 0).
    """

    min_slots: int = 1
    max_slots: int = 4
    max_per_day: int = 3
    min_gap_slots: int = 8
    rebound_slots: int = 4
    search_slots: int = 16
    min_kwh: float = 0.1

    def __post_init__(self) -> None:
        """Raises: InvalidDeviceState: a limit out of range."""
        if not 1 <= self.min_slots <= self.max_slots:
            raise InvalidDeviceState("max_slots", "need 1 <= min_slots <= max_slots")
        if self.max_per_day < 1 or self.min_gap_slots < 0 or self.rebound_slots < 0 or self.search_slots < 1:
            raise InvalidDeviceState("max_per_day", "need max_per_day >= 1, search_slots >= 1, gaps and rebound >= 0")
        if self.min_kwh < 0:
            raise InvalidDeviceState("min_kwh", "must be >= 0")


@dataclass(frozen=True, slots=True)
class Interruption:
    """A past or planned interruption [start, end) (aware UTC)."""

    start: datetime
    end: datetime


def allowed(start: datetime, slots: int, limits: InterruptionLimits, history: Sequence[Interruption]) -> bool:
    """Whether an interruption of ``slots`` slots from ``start`` respects the daily limits given the history."""
    if not limits.min_slots <= slots <= limits.max_slots:
        return False
    end = start + timedelta(seconds=SLOT_S * slots)
    gap = timedelta(seconds=SLOT_S * limits.min_gap_slots)
    for past in history:
        if start < past.end + gap and past.start < end + gap:
            return False  # overlapping, or closer than the minimum distance
    same_day = sum(1 for past in history if past.start.date() == start.date())
    return same_day < limits.max_per_day


@dataclass(frozen=True, slots=True)
class InterruptionOffer:
    """The generator's result: the offer and the interruption it plans if fully scheduled."""

    offer: FlexOffer
    interruption: Interruption


def interruption_offer(
    forecast: ThermalForecast,
    limits: InterruptionLimits,
    history: Sequence[Interruption],
    *,
    offer_id: str,
    offered_by_id: str,
    timing: OfferTiming,
    price_down_eur_per_kwh: float,
    location_id: str | None = None,
) -> InterruptionOffer | None:
    """The interruption of most energy the physics and the limits allow, as a FlexOffer; None if there is none.

    Args:
        forecast: the device's physics from its state at ``timing.now``.
        limits: daily limits.
        history: the device's past and planned interruptions.
        offer_id, offered_by_id, timing, location_id: see :func:`goflex.flex.foa.framing.build_offer`.
        price_down_eur_per_kwh: asked for consuming less than baseline [EUR/kWh] (>= 0).
    """
    first = timing.earliest_start()
    lead_s = (first - timing.now).total_seconds()
    span = limits.search_slots + limits.max_slots + limits.rebound_slots
    baseline = forecast.run(lead_s, [True] * span)
    candidates = []
    for k in range(limits.search_slots):
        start = first + timedelta(seconds=SLOT_S * k)
        for n in range(limits.min_slots, limits.max_slots + 1):
            window = slice(k, k + n + limits.rebound_slots)
            energy = sum(baseline.energy_kwh[k : k + n])
            if energy < limits.min_kwh or not allowed(start, n, limits, history):
                continue
            if min(baseline.margin_k[window]) < MIN_MARGIN_K:
                continue  # the baseline itself breaks comfort here: the device needs all it can get
            # most energy interrupted first; then the shortest (no idle slot blocked), then the earliest
            candidates.append((-round(energy, 6), n, k))
    for _, n, k in sorted(candidates):
        cut = forecast.run(lead_s, [True] * k + [False] * n + [True] * limits.rebound_slots)
        if min(cut.margin_k[k:]) < MIN_MARGIN_K:
            continue
        start = first + timedelta(seconds=SLOT_S * k)
        base = baseline.energy_kwh[k : k + n + limits.rebound_slots]
        cut_energy = cut.energy_kwh[k:]
        slices = [
            SliceSpec(min(c, b), max(c, b), b, price_down_eur_per_kwh, price_down_eur_per_kwh)
            for c, b in zip(cut_energy[:n], base[:n], strict=True)
        ] + [SliceSpec(min(c, b), max(c, b), b) for c, b in zip(cut_energy[n:], base[n:], strict=True)]
        offer = build_offer(
            offer_id=offer_id,
            offered_by_id=offered_by_id,
            timing=timing,
            start=start,
            slices=slices,
            location_id=location_id,
        )
        return InterruptionOffer(offer, Interruption(start, start + timedelta(seconds=SLOT_S * n)))
    return None
