"""Start-aligned aggregation of FlexOffers on a grid of tolerances (pure; reference flexoffer.md section 3).

Per-interval expansion (the convention every function here relies on): a profile slice of fixed duration
``d`` intervals (``minDuration == maxDuration == d``) with energy bounds ``[l, u]`` [kWh] for the whole slice
contributes the bounds ``[l/d, u/d]`` [kWh] to each of its ``d`` intervals - the standard reading of
fixed-duration slices in the FlexOffer literature. Any per-interval assignment within those bounds sums to a
slice amount within ``[l, u]``. Offers with a variable-duration slice, or without exactly one energy constraint
per slice, have no such expansion and **stay single** (they are traded as they are).

A member's per-interval bounds are also tightened by its total-energy constraint (TEC): interval ``k`` cannot
go below ``L - (sum h - h_k)`` nor above ``U - (sum l - l_k)``. This removes only values no valid schedule of
the member can take, and makes more aggregate schedules disaggregatable.

Grouping: a group key is (interval length, phase of EST on the interval grid, direction, EST cell, tf cell)
with ``cell = floor((value - origin) / tolerance)`` in intervals (tolerance 0 = exact value), EST counted in
intervals from ``origin`` and ``tf = LST - EST``. Direction is consumption-only (every lower >= 0),
production-only (every upper <= 0) or mixed; they never share a group. A cell's members, sorted by id, are cut
into groups of at most ``max_members``, so the groups are a function of the cell's member set: an incremental
add/remove rebuilds only that cell (and only its groups whose membership changed), and always equals a rebuild.

Summing (start alignment): ``EST(a) = min EST``, ``tf(a) = min tf``, ``LST(a) = EST(a) + tf(a)``; each member is
placed at offset ``EST(f) - EST(a)`` intervals; per-interval bounds are summed, giving one slice of duration 1
per interval; TECs are summed (a member without one contributes the sum of its slice bounds; the aggregate has
no TEC when no member has one); creation time and deadlines take the minimum. Time flexibility lost is
``sum tf(f) - tf(a)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from goflex.flex.model import EnergyConstraint, FlexOffer, FlexOfferState, ProfileSlice
from goflex.flex.validation import ENERGY_TOLERANCE_KWH


class Direction(StrEnum):
    """Which way an offer's energy can flow (consumption-positive)."""

    CONSUMPTION = "consumption"
    PRODUCTION = "production"
    MIXED = "mixed"


@dataclass(frozen=True, slots=True)
class AggregationParameters:
    """Grid and size bound of the grouping.

    Attributes:
        origin: aware UTC datetime the EST cells count from.
        est_tolerance: EST cell width [intervals], >= 0; 0 groups equal ESTs only.
        tf_tolerance: time-flexibility cell width [intervals], >= 0; 0 loses no time flexibility.
        max_members: most members per aggregate, >= 1.
        aggregator_id: ``offeredById`` of the aggregates.
        single_binding_tec: keep offers whose TEC binds (see :func:`binding_total`) single. Summed TECs forget
            which intervals each TEC spans, so an aggregate with such a member can have valid schedules that
            no member assignment meets (:class:`goflex.flex.disaggregation.NoValidDisaggregation`); with this
            set, every valid aggregate schedule is disaggregatable, at the cost of less compression.
    """

    origin: datetime
    est_tolerance: int = 0
    tf_tolerance: int = 0
    max_members: int = 100
    aggregator_id: str = "goflex-fman"
    single_binding_tec: bool = False

    def __post_init__(self) -> None:
        if self.est_tolerance < 0 or self.tf_tolerance < 0 or self.max_members < 1:
            raise ValueError("tolerances must be >= 0 and max_members >= 1")


@dataclass(frozen=True, slots=True)
class Aggregate:
    """An aggregate FlexOffer and the members it was summed from.

    Attributes:
        offer: the aggregate; one slice of duration 1 per interval.
        members: the member offers, sorted by id.
        offsets: each member's profile start relative to the aggregate's [intervals], >= 0.
    """

    offer: FlexOffer
    members: tuple[FlexOffer, ...]
    offsets: tuple[int, ...]

    @property
    def member_ids(self) -> tuple[str, ...]:
        """Ids of the members, in ``members`` order."""
        return tuple(m.id for m in self.members)


GroupKey = tuple[int, float, Direction, int, int]


def _interval(offer: FlexOffer) -> timedelta:
    return timedelta(seconds=offer.num_seconds_per_interval)


def time_flexibility(offer: FlexOffer) -> int:
    """``tf = LST - EST`` [intervals]."""
    return (offer.start_before_time - offer.start_after_time) // _interval(offer)


def interval_bounds(offer: FlexOffer) -> tuple[EnergyConstraint, ...] | None:
    """Per-interval bounds [kWh] of a fixed-duration offer: ``[l/d, u/d]`` for each of a slice's ``d`` intervals.

    Returns:
        One constraint per interval of the profile, or ``None`` when a slice has a variable duration or not
        exactly one energy constraint (such offers stay single).
    """
    bounds: list[EnergyConstraint] = []
    for s in offer.profile:
        if s.min_duration != s.max_duration or s.min_duration < 1 or len(s.energy_constraints) != 1:
            return None
        c, d = s.energy_constraints[0], s.min_duration
        bounds += [EnergyConstraint(c.lower / d, c.upper / d)] * d
    return tuple(bounds)


def effective_total(offer: FlexOffer, bounds: Sequence[EnergyConstraint]) -> EnergyConstraint:
    """The offer's TEC clipped to what its per-interval ``bounds`` allow (their sum without a TEC) [kWh]."""
    low = sum(b.lower for b in bounds)
    high = sum(b.upper for b in bounds)
    tec = offer.total_energy_constraint
    if tec is None:
        return EnergyConstraint(low, high)
    lower, upper = max(low, tec.lower), min(high, tec.upper)
    if lower > upper:  # a TEC touching the slice range within the validation slack; float rounding
        lower = upper = (lower + upper) / 2
    return EnergyConstraint(lower, upper)


def member_bounds(offer: FlexOffer) -> tuple[EnergyConstraint, ...]:
    """Per-interval bounds [kWh] of an aggregatable offer, tightened by its TEC (see module docstring).

    Raises:
        ValueError: when the offer has no per-interval expansion.
    """
    bounds = interval_bounds(offer)
    if bounds is None:
        raise ValueError(f"{offer.id}: not a fixed-duration offer")
    tec = effective_total(offer, bounds)
    low = sum(b.lower for b in bounds)
    high = sum(b.upper for b in bounds)
    tightened = []
    for b in bounds:
        lower = min(b.upper, max(b.lower, tec.lower - (high - b.upper)))
        # max(lower, ...): float rounding of the sums must not cross the bounds.
        tightened.append(EnergyConstraint(lower, max(lower, min(b.upper, tec.upper - (low - b.lower)))))
    return tuple(tightened)


def binding_total(offer: FlexOffer) -> bool:
    """Whether the offer's TEC restricts it beyond its TEC-tightened per-interval bounds.

    A non-binding TEC holds for every assignment within :func:`member_bounds`, so the member behaves as a box.
    """
    if offer.total_energy_constraint is None:
        return False
    bounds = member_bounds(offer)
    tec = effective_total(offer, bounds)
    low = sum(b.lower for b in bounds)
    high = sum(b.upper for b in bounds)
    return low < tec.lower - ENERGY_TOLERANCE_KWH or high > tec.upper + ENERGY_TOLERANCE_KWH


def direction(bounds: Sequence[EnergyConstraint]) -> Direction:
    """Consumption-only when every lower bound is >= 0, production-only when every upper is <= 0, else mixed."""
    if all(b.lower >= 0 for b in bounds):
        return Direction.CONSUMPTION
    if all(b.upper <= 0 for b in bounds):
        return Direction.PRODUCTION
    return Direction.MIXED


def _cell(value: int, tolerance: int) -> int:
    return value if tolerance == 0 else value // tolerance


def group_key(offer: FlexOffer, params: AggregationParameters) -> GroupKey | None:
    """The grid cell of an offer, or ``None`` when it stays single.

    It stays single without a fixed-duration expansion, or with a binding TEC when
    ``params.single_binding_tec`` is set.
    """
    bounds = interval_bounds(offer)
    if bounds is None or (params.single_binding_tec and binding_total(offer)):
        return None
    step = _interval(offer)
    since = offer.start_after_time - params.origin
    phase = (since % step).total_seconds()
    est = since // step
    return (
        offer.num_seconds_per_interval,
        phase,
        direction(bounds),
        _cell(est, params.est_tolerance),
        _cell(time_flexibility(offer), params.tf_tolerance),
    )


def time_flexibility_loss(agg: Aggregate) -> int:
    """Aggregation loss in time flexibility: ``sum tf(members) - tf(aggregate)`` [intervals] (reference 5).

    Each member keeps ``tf(a)`` of its own ``tf(f)`` start choices, so the members' lost start choices are
    ``sum (tf(f) - tf(a))``, zero when every member has the same tf (tf tolerance 0).
    """
    return sum(time_flexibility(m) for m in agg.members) - time_flexibility(agg.offer)


def aggregate_id(member_ids: Iterable[str]) -> str:
    """Deterministic aggregate id: ``agg-`` and 16 hex digits of the SHA-256 of the sorted member ids."""
    digest = hashlib.sha256("\n".join(sorted(member_ids)).encode()).hexdigest()
    return f"agg-{digest[:16]}"


def _summed_bounds(members: Sequence[FlexOffer], offsets: Sequence[int]) -> list[EnergyConstraint]:
    per_member = [member_bounds(m) for m in members]
    length = max(o + len(b) for o, b in zip(offsets, per_member, strict=True))
    low, high = [0.0] * length, [0.0] * length
    for offset, bounds in zip(offsets, per_member, strict=True):
        for k, b in enumerate(bounds, start=offset):
            low[k] += b.lower
            high[k] += b.upper
    return [EnergyConstraint(lo, hi) for lo, hi in zip(low, high, strict=True)]


def aggregate(members: Sequence[FlexOffer], params: AggregationParameters) -> Aggregate:
    """Sum members into one aggregate by start alignment (see module docstring).

    Args:
        members: valid fixed-duration offers with the same interval length and EST phase, >= 1.
        params: supplies ``aggregator_id``.

    Raises:
        ValueError: when ``members`` is empty or a member has no fixed-duration expansion.
    """
    if not members:
        raise ValueError("an aggregate needs at least one member")
    ordered = tuple(sorted(members, key=lambda m: m.id))
    first = ordered[0]
    step = _interval(first)
    est = min(m.start_after_time for m in ordered)
    tf = min(time_flexibility(m) for m in ordered)
    offsets = tuple((m.start_after_time - est) // step for m in ordered)
    slices = tuple(ProfileSlice(1, 1, (b,)) for b in _summed_bounds(ordered, offsets))
    tec = None
    if any(m.total_energy_constraint is not None for m in ordered):
        totals = [effective_total(m, member_bounds(m)) for m in ordered]
        tec = EnergyConstraint(sum(t.lower for t in totals), sum(t.upper for t in totals))
    offer = FlexOffer(
        id=aggregate_id(m.id for m in ordered),
        state=FlexOfferState.INITIAL,
        offered_by_id=params.aggregator_id,
        creation_time=min(m.creation_time for m in ordered),
        accept_before_time=min(m.accept_before_time for m in ordered),
        assignment_before_time=min(m.assignment_before_time for m in ordered),
        start_after_time=est,
        start_before_time=est + tf * step,
        profile=slices,
        num_seconds_per_interval=first.num_seconds_per_interval,
        total_energy_constraint=tec,
    )
    return Aggregate(offer, ordered, offsets)


class Aggregator:
    """Incremental aggregation: groups change only in the cell of the offer added or removed.

    The cell's members, sorted by id, are cut into groups of ``max_members``; aggregates whose member set did
    not change are kept as they are.
    """

    def __init__(self, params: AggregationParameters) -> None:
        """Start empty with the given grid."""
        self._params = params
        self._offers: dict[str, FlexOffer] = {}
        self._keys: dict[str, GroupKey | None] = {}
        self._cells: dict[GroupKey, list[Aggregate]] = {}
        self._cell_ids: dict[GroupKey, set[str]] = {}

    def add(self, offer: FlexOffer) -> None:
        """Add a new offer (its id must be new; use :meth:`update` to change one).

        Raises:
            ValueError: when an offer with this id is already held.
        """
        if offer.id in self._offers:
            raise ValueError(f"{offer.id}: already aggregated; use update")
        key = group_key(offer, self._params)
        self._offers[offer.id] = offer
        self._keys[offer.id] = key
        if key is not None:
            self._cell_ids.setdefault(key, set()).add(offer.id)
            self._rebuild(key)

    def remove(self, offer_id: str) -> None:
        """Remove an offer by id.

        Raises:
            KeyError: when no offer has this id.
        """
        del self._offers[offer_id]
        key = self._keys.pop(offer_id)
        if key is not None:
            self._cell_ids[key].discard(offer_id)
            self._rebuild(key)

    def update(self, offer: FlexOffer) -> None:
        """Replace the offer with the same id (remove, then add)."""
        self.remove(offer.id)
        self.add(offer)

    def _rebuild(self, key: GroupKey) -> None:
        ids = sorted(self._cell_ids.get(key, ()))
        old = {a.member_ids: a for a in self._cells.get(key, [])}
        size = self._params.max_members
        groups = [tuple(ids[i : i + size]) for i in range(0, len(ids), size)]
        cell = [old.get(g) or aggregate([self._offers[i] for i in g], self._params) for g in groups]
        if cell:
            self._cells[key] = cell
        else:
            self._cells.pop(key, None)
            self._cell_ids.pop(key, None)

    def aggregates(self) -> tuple[Aggregate, ...]:
        """Every aggregate, sorted by aggregate id."""
        return tuple(sorted((a for cell in self._cells.values() for a in cell), key=lambda a: a.offer.id))

    def singles(self) -> tuple[FlexOffer, ...]:
        """Offers that stay single (see :func:`group_key`), sorted by id."""
        return tuple(self._offers[i] for i in sorted(self._offers) if self._keys[i] is None)


def aggregate_all(offers: Iterable[FlexOffer], params: AggregationParameters) -> Aggregator:
    """Aggregate a batch of offers from scratch."""
    aggregator = Aggregator(params)
    for offer in offers:
        aggregator.add(offer)
    return aggregator
