"""The frame every generated FlexOffer shares: the 15-minute grid, deadlines and the offer record (pure).

Market time unit 15 min, intervals [start, end), slot index = epoch seconds // 900 (trading contract). A FOA
offers for slots that start at least ``lead`` after now, so that FMAN can aggregate, bid and deliver a schedule
in time: ``acceptBeforeTime`` and ``assignmentBeforeTime`` come ``accept_lead`` and ``assignment_lead`` before
the earliest start (the validation rule creation <= acceptBefore <= assignmentBefore <= EST, flexoffer.md 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.model import (
    DEFAULT_SECONDS_PER_INTERVAL,
    EnergyConstraint,
    FlexOffer,
    FlexOfferState,
    ProfileSlice,
    Schedule,
    ScheduleSlice,
    TariffConstraint,
)
from goflex.flex.validation import require_valid, validate_offer

SLOT_S = DEFAULT_SECONDS_PER_INTERVAL
"""Market time unit [s] (15 min, trading contract)."""
SLOT_H = SLOT_S / 3600.0
"""Market time unit [h]; energy [kWh] = power [kW] x SLOT_H."""


def slot_floor(t: datetime) -> datetime:
    """The start of the 15-min slot holding ``t`` (aware UTC)."""
    epoch = int(t.timestamp()) // SLOT_S * SLOT_S
    return datetime.fromtimestamp(epoch, UTC)


def slot_ceil(t: datetime) -> datetime:
    """The first slot start at or after ``t``."""
    floor = slot_floor(t)
    return floor if floor == t else floor + timedelta(seconds=SLOT_S)


def slot_energy_kwh(power_w: float) -> float:
    """Energy [kWh] of ``power_w`` [W] held for one slot."""
    return power_w / 1000.0 * SLOT_H


@dataclass(frozen=True, slots=True)
class OfferTiming:
    """When an offer is made and how much earlier than its start it must be answered.

    Attributes:
        now: creation time (aware UTC).
        accept_lead: ``acceptBeforeTime`` lies this long before the earliest start.
        assignment_lead: ``assignmentBeforeTime`` lies this long before the earliest start (<= accept_lead).
        submission_margin: the least time between ``now`` and ``acceptBeforeTime`` (>= 0). Without it the slot
            boundary ``accept_lead`` after now can be seconds away, and FMAN refuses an offer whose acceptance
            deadline passes while it travels (``deadline_passed``); the agent gives 5 min of platform time.
    """

    now: datetime
    accept_lead: timedelta = timedelta(minutes=30)
    assignment_lead: timedelta = timedelta(minutes=15)
    submission_margin: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        """Raises: InvalidDeviceState: a naive ``now`` or leads out of order (0 <= assignment <= accept)."""
        if self.now.tzinfo is None:
            raise InvalidDeviceState("now", "must be an aware UTC datetime")
        if not timedelta(0) <= self.assignment_lead <= self.accept_lead:
            raise InvalidDeviceState("assignment_lead", "must lie in [0, accept_lead]")
        if self.submission_margin < timedelta(0):
            raise InvalidDeviceState("submission_margin", "must be >= 0")

    def earliest_start(self) -> datetime:
        """The first slot an offer made now may start in: the slot boundary ``accept_lead + submission_margin``
        after now, so that ``acceptBeforeTime`` is at least ``submission_margin`` away."""
        return slot_ceil(self.now + self.accept_lead + self.submission_margin)


@dataclass(frozen=True, slots=True)
class SliceSpec:
    """One 15-min slice of a generated offer: bounds and baseline [kWh], optional prices [EUR/kWh].

    Attributes:
        lower_kwh: least energy in the slice.
        upper_kwh: most energy in the slice.
        baseline_kwh: energy of the default schedule (lower <= baseline <= upper).
        price_down_eur_per_kwh: asked for consuming less than baseline (written as ``minTariff = -price``).
        price_up_eur_per_kwh: asked for consuming more than baseline (``maxTariff``).
    """

    lower_kwh: float
    upper_kwh: float
    baseline_kwh: float
    price_down_eur_per_kwh: float | None = None
    price_up_eur_per_kwh: float | None = None


def build_offer(
    *,
    offer_id: str,
    offered_by_id: str,
    timing: OfferTiming,
    start: datetime,
    slices: Sequence[SliceSpec],
    latest_start: datetime | None = None,
    total_kwh: tuple[float, float] | None = None,
    location_id: str | None = None,
) -> FlexOffer:
    """A FlexOffer of one-slot slices, checked with :func:`goflex.flex.validation.validate_offer`.

    Args:
        offer_id: the offer's id.
        offered_by_id: the prosumer (e.g. ``goflex-dc-004``).
        timing: creation time and deadlines' leads.
        start: earliest start EST, on the slot grid.
        slices: one per slot, in time order.
        latest_start: LST (default: EST, a fixed start).
        total_kwh: the total-energy constraint ``(lower, upper)``, if any.
        location_id: grid location.

    Raises:
        InvalidFlexOffer: the offer breaks a FlexOffer rule (a generator bug or inconsistent inputs).
        InvalidDeviceState: no slice, or a baseline outside its bounds.
    """
    if not slices:
        raise InvalidDeviceState("slices", "an offer needs at least one slot")
    for i, s in enumerate(slices):
        if not s.lower_kwh - 1e-9 <= s.baseline_kwh <= s.upper_kwh + 1e-9:
            raise InvalidDeviceState(f"slices[{i}].baseline_kwh", "must lie in [lower_kwh, upper_kwh]")
    lst = latest_start or start
    profile = tuple(
        ProfileSlice(
            min_duration=1,
            max_duration=1,
            energy_constraints=(EnergyConstraint(s.lower_kwh, s.upper_kwh),),
            tariff_constraint=_tariff(s),
        )
        for s in slices
    )
    offer = FlexOffer(
        id=offer_id,
        state=FlexOfferState.INITIAL,
        offered_by_id=offered_by_id,
        creation_time=timing.now,
        accept_before_time=start - timing.accept_lead,
        assignment_before_time=start - timing.assignment_lead,
        start_after_time=start,
        start_before_time=lst,
        profile=profile,
        total_energy_constraint=EnergyConstraint(*total_kwh) if total_kwh is not None else None,
        default_schedule=Schedule(
            start_time=start, slices=tuple(ScheduleSlice(duration=1, energy_amount=s.baseline_kwh) for s in slices)
        ),
        location_id=location_id,
    )
    require_valid(validate_offer(offer))
    return offer


def _tariff(s: SliceSpec) -> TariffConstraint | None:
    down, up = s.price_down_eur_per_kwh, s.price_up_eur_per_kwh
    if down is None and up is None:
        return None  # not offered for sale in either direction (trading contract: price infinite)
    if down is None or up is None or down < 0 or up < 0:
        # A missing price would be written as 0 and sold for free: both prices, or neither.
        raise InvalidDeviceState("price_down_eur_per_kwh", "give both prices (>= 0) or neither")
    return TariffConstraint(min_tariff=-down, max_tariff=up)


def slot_starts(start: datetime, count: int) -> list[datetime]:
    """The starts of ``count`` consecutive slots from ``start``."""
    return [start + timedelta(seconds=SLOT_S * k) for k in range(count)]
