"""What an order offers or asks, in market terms: 15-minute slots, directions, prices (pure).

Market time unit: 15 minutes; slot index = epoch seconds // 900, intervals [start, end) (trading contract).

A **bid** is a FlexOffer whose ``defaultSchedule`` is the baseline (trading contract, FMAR). Its terms
(:class:`BidTerms`) are read per profile slice:

* the slice's energy bounds ``[lower, upper]`` [kWh] and its baseline amount ``base`` (the default schedule
  must have one slice per profile slice with the same duration: the baseline is the amount the prosumer runs in
  each slice of the profile, wherever the profile starts, as the GOFLEX market priced bids with
  ``gain = sum_k price_k (sched_k - base_k)``, reference flexoffer.md 6);
* ``reference = clamp(base, lower, upper)``: the nearest amount the slice can take to its baseline. Deviations
  are sold from there; a baseline outside the bounds is not a deviation anyone pays for;
* prices [EUR/kWh]: ``maxTariff`` for consuming more than baseline (up), ``-minTariff`` for consuming less
  (down); a slice without ``tariffConstraint`` is not offered in either direction.

Only fixed-duration slices (minDuration == maxDuration) can be traded: a slot-based buyer needs to know where
each slice lies. A slice's energy is spread evenly over its intervals (the reading of :mod:`goflex.flex.aggregation`).

A **buy order** asks for a deviation ``energyKwh`` > 0 per slot in one direction at a maximum price.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from goflex.flex.fmar.errors import OrderRefused
from goflex.flex.fmar.lifecycle import Reason
from goflex.flex.model import FlexOffer
from goflex.flex.validation import validate_offer

SLOT_S: Final = 900
"""Market time unit [s] (15 minutes)."""


class Direction(StrEnum):
    """Direction of a deviation from baseline, consumption-positive: ``up`` = consume more."""

    UP = "up"
    DOWN = "down"

    @property
    def sign(self) -> float:
        """+1 for up, -1 for down: ``schedule = reference + sign * energy``."""
        return 1.0 if self is Direction.UP else -1.0


def slot_of(time: datetime) -> int:
    """Slot index of ``time`` (epoch seconds // 900); ``time`` must be aware."""
    return int(time.timestamp()) // SLOT_S


def slot_start(slot: int) -> datetime:
    """Aware UTC start of slot ``slot``."""
    return datetime.fromtimestamp(slot * SLOT_S, UTC)


def is_slot_aligned(time: datetime) -> bool:
    """Whether ``time`` starts a slot (whole quarter hour, no fraction of a second)."""
    return time.timestamp() % SLOT_S == 0


@dataclass(frozen=True, slots=True)
class SliceTerms:
    """One profile slice in market terms.

    Attributes:
        offset: first interval of the slice from the profile start [slots].
        duration: length [slots].
        lower: lowest energy of the slice [kWh].
        upper: highest energy of the slice [kWh].
        base: baseline energy of the slice [kWh] (may lie outside the bounds).
        price_up: asked price for consuming more [EUR/kWh], ``None`` = not offered.
        price_down: asked price for consuming less [EUR/kWh], ``None`` = not offered.
    """

    offset: int
    duration: int
    lower: float
    upper: float
    base: float
    price_up: float | None
    price_down: float | None

    @property
    def reference(self) -> float:
        """The baseline clamped into the bounds [kWh]: deviations are sold from here."""
        return min(self.upper, max(self.lower, self.base))

    def price(self, direction: Direction) -> float | None:
        """Asked price in ``direction`` [EUR/kWh], or ``None`` when not offered."""
        return self.price_up if direction is Direction.UP else self.price_down


@dataclass(frozen=True, slots=True)
class BidTerms:
    """A FlexOffer as the market trades it.

    Attributes:
        offer: the FlexOffer.
        est_slot: earliest start [slot index].
        lst_slot: latest start [slot index].
        slices: the profile slices.
        total_lower: lower total-energy bound [kWh] (sum of slice lowers without a TEC).
        total_upper: upper total-energy bound [kWh] (sum of slice uppers without a TEC).
        deadline: ``assignmentBeforeTime``: the schedule is fixed (or the bid rejected) then.
    """

    offer: FlexOffer
    est_slot: int
    lst_slot: int
    slices: tuple[SliceTerms, ...]
    total_lower: float
    total_upper: float
    deadline: datetime

    @property
    def length(self) -> int:
        """Profile length [slots]."""
        return sum(s.duration for s in self.slices)


def _refuse(field: str, rule: str, reason: Reason = Reason.INVALID_OFFER) -> OrderRefused:
    return OrderRefused(reason.value, f"flexOffer.{field}", rule)


def bid_terms(offer: FlexOffer, *, max_abs_price: float) -> BidTerms:
    """Check a FlexOffer as a bid and read its terms.

    Args:
        offer: the parsed FlexOffer.
        max_abs_price: largest price magnitude the market accepts [EUR/kWh].

    Raises:
        OrderRefused: ``invalid_offer`` (the FlexOffer rules of :mod:`goflex.flex.validation`, a missing
            ``defaultSchedule``, a slice layout the market cannot trade) or ``price_out_of_range``.
    """
    problems = validate_offer(offer)
    if problems:
        raise _refuse(problems[0].field, problems[0].rule)
    if offer.num_seconds_per_interval != SLOT_S:
        raise _refuse("numSecondsPerInterval", f"must be {SLOT_S} (the market time unit)")
    if not is_slot_aligned(offer.start_after_time):
        raise _refuse("startAfterTime", "must start a 15-minute slot")
    base = offer.default_schedule
    if base is None:
        raise _refuse("defaultSchedule", "required: it is the baseline the deviations are measured from")
    if len(base.slices) != len(offer.profile):
        raise _refuse("defaultSchedule.scheduleSlices", "must hold one slice per profile slice")
    slices, offset = [], 0
    for i, (profile_slice, base_slice) in enumerate(zip(offer.profile, base.slices, strict=True)):
        path = f"flexOfferProfileConstraints[{i}]"
        if profile_slice.min_duration != profile_slice.max_duration:
            raise _refuse(f"{path}.maxDuration", "must equal minDuration (only fixed-duration slices are traded)")
        if base_slice.duration != profile_slice.min_duration:
            raise _refuse(f"defaultSchedule.scheduleSlices[{i}].duration", "must equal the slice's duration")
        bounds = profile_slice.energy_constraints[0]
        up = down = None
        tariff = profile_slice.tariff_constraint
        if tariff is not None:
            if tariff.min_tariff > 0:
                raise _refuse(f"{path}.tariffConstraint.minTariff", "must be <= 0 (-minTariff is the down price)")
            up, down = tariff.max_tariff, -tariff.min_tariff
            if max(abs(up), abs(down)) > max_abs_price:
                raise _refuse(
                    f"{path}.tariffConstraint",
                    f"prices must lie within +-{max_abs_price} EUR/kWh",
                    Reason.PRICE_OUT_OF_RANGE,
                )
        slices.append(
            SliceTerms(
                offset, profile_slice.min_duration, bounds.lower, bounds.upper, base_slice.energy_amount, up, down
            )
        )
        offset += profile_slice.min_duration
    low = sum(s.lower for s in slices)
    high = sum(s.upper for s in slices)
    tec = offer.total_energy_constraint
    total_lower, total_upper = (low, high) if tec is None else (max(low, tec.lower), min(high, tec.upper))
    if total_lower > total_upper:  # touching within the validation slack
        total_lower = total_upper = (total_lower + total_upper) / 2
    return BidTerms(
        offer=offer,
        est_slot=slot_of(offer.start_after_time),
        lst_slot=slot_of(offer.start_before_time),
        slices=tuple(slices),
        total_lower=total_lower,
        total_upper=total_upper,
        deadline=offer.assignment_before_time,
    )


@dataclass(frozen=True, slots=True)
class BuyTerms:
    """A buy order: a deviation per slot in one direction at a maximum price.

    Attributes:
        direction: ``down`` = the buyer wants less consumption than baseline.
        location_id: grid location, ``None`` = any.
        max_price: highest price the buyer pays [EUR/kWh].
        slots: slot index -> wanted deviation [kWh] (> 0).
        allow_partial: whether a part of the energy may be matched.
    """

    direction: Direction
    location_id: str | None
    max_price: float
    slots: Mapping[int, float]
    allow_partial: bool = True


def buy_terms(
    direction: str,
    location_id: str | None,
    max_price: float,
    slots: list[tuple[datetime, float]],
    allow_partial: bool,
    *,
    max_abs_price: float,
) -> BuyTerms:
    """Check a buy order and read its terms.

    Raises:
        OrderRefused: ``invalid_order`` (unknown direction, empty, unaligned or repeated slot, energy <= 0 or not
            finite) or ``price_out_of_range``.
    """
    try:
        parsed = Direction(direction)
    except ValueError:
        raise OrderRefused(Reason.INVALID_ORDER.value, "direction", "must be 'down' or 'up'") from None
    if not math.isfinite(max_price) or abs(max_price) > max_abs_price:
        raise OrderRefused(
            Reason.PRICE_OUT_OF_RANGE.value, "maxPriceEurPerKwh", f"must lie within +-{max_abs_price} EUR/kWh"
        )
    if not slots:
        raise OrderRefused(Reason.INVALID_ORDER.value, "slots", "must hold at least one slot")
    wanted: dict[int, float] = {}
    for i, (start, energy) in enumerate(slots):
        if not is_slot_aligned(start):
            raise OrderRefused(Reason.INVALID_ORDER.value, f"slots[{i}].start", "must start a 15-minute slot")
        if not math.isfinite(energy) or energy <= 0:
            raise OrderRefused(Reason.INVALID_ORDER.value, f"slots[{i}].energyKwh", "must be a finite number > 0")
        slot = slot_of(start)
        if slot in wanted:
            raise OrderRefused(Reason.INVALID_ORDER.value, f"slots[{i}].start", "repeats an earlier slot")
        wanted[slot] = energy
    return BuyTerms(parsed, location_id, max_price, wanted, allow_partial)


def first_open_slot(now: datetime, gate_closure_s: float) -> int:
    """The first slot still open for trading: it starts at or after ``now + gate closure``.

    Gate closure (trading contract): no order, update or match for a slot that starts before
    ``now + gate_closure``.
    """
    return math.ceil((now.timestamp() + gate_closure_s) / SLOT_S)
