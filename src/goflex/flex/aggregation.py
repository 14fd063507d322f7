"""Aggregation of FlexOffers on a grid of tolerances, incremental and in batch (pure; reference flexoffer.md 3).

The rules (per-interval expansion, TEC tightening, inner boxes, grid, alignment, summing) are documented in
:mod:`goflex.flex.offer_table` and :mod:`goflex.flex.grouping`, where they are computed; this module is the
API: the scalar helpers, :func:`aggregate` (one group), the incremental :class:`Aggregator` and the batch
:func:`aggregate_all`. Both paths sum through :func:`goflex.flex.grouping.sum_groups`, so
``aggregate_all(offers)`` equals adding the offers one by one (property-tested).

Offers with a variable-duration slice, or without exactly one energy constraint per slice, have no per-interval
expansion and **stay single** (they are traded as they are); so do offers whose TEC binds under the ``single``
TEC policy. Time flexibility lost is ``sum tf(f) - tf(a)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import timedelta

import numpy as np

from goflex.flex.aggregation_model import (
    Aggregate,
    AggregationParameters,
    Alignment,
    Direction,
    GroupKey,
    TecPolicy,
    aggregate_id,
)
from goflex.flex.grouping import cell_columns, form_groups, sum_groups
from goflex.flex.model import EnergyConstraint, FlexOffer
from goflex.flex.offer_table import OfferTable, derive_bounds

__all__ = [
    "Aggregate",
    "AggregationParameters",
    "Aggregator",
    "Alignment",
    "Direction",
    "GroupKey",
    "TecPolicy",
    "aggregate",
    "aggregate_all",
    "aggregate_id",
    "binding_total",
    "direction",
    "effective_total",
    "group_key",
    "interval_bounds",
    "member_bounds",
    "time_flexibility",
    "time_flexibility_loss",
]


def time_flexibility(offer: FlexOffer) -> int:
    """``tf = LST - EST`` [intervals]."""
    return (offer.start_before_time - offer.start_after_time) // timedelta(seconds=offer.num_seconds_per_interval)


def interval_bounds(offer: FlexOffer) -> tuple[EnergyConstraint, ...] | None:
    """Per-interval bounds [kWh] of a fixed-duration offer: ``[l/d, u/d]`` for each of a slice's ``d`` intervals.

    Returns:
        One constraint per interval of the profile, or ``None`` when a slice has a variable duration or not
        exactly one energy constraint (such offers stay single).
    """
    table = OfferTable.from_offers([offer])
    if not table.fixed[0]:
        return None
    return tuple(EnergyConstraint(a, b) for a, b in zip(table.lower.tolist(), table.upper.tolist(), strict=True))


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


def member_bounds(offer: FlexOffer, *, box: bool = False) -> tuple[EnergyConstraint, ...]:
    """Per-interval bounds [kWh] of an aggregatable offer, tightened by its TEC (``box``: its inner box).

    Raises:
        ValueError: when the offer has no per-interval expansion.
    """
    table = OfferTable.from_offers([offer])
    if not table.fixed[0]:
        raise ValueError(f"{offer.id}: not a fixed-duration offer")
    b = derive_bounds(table)
    lo, hi = (b.box_lo, b.box_hi) if box else (b.tight_lo, b.tight_hi)
    return tuple(EnergyConstraint(x, y) for x, y in zip(lo.tolist(), hi.tolist(), strict=True))


def binding_total(offer: FlexOffer) -> bool:
    """Whether the offer's TEC restricts it beyond its TEC-tightened per-interval bounds.

    A non-binding TEC holds for every assignment within :func:`member_bounds`, so the member behaves as a box.
    """
    table = OfferTable.from_offers([offer])
    return bool(table.fixed[0] and derive_bounds(table).binding[0])


def direction(bounds: Sequence[EnergyConstraint]) -> Direction:
    """Consumption-only when every lower bound is >= 0, production-only when every upper is <= 0, else mixed."""
    if all(b.lower >= 0 for b in bounds):
        return Direction.CONSUMPTION
    if all(b.upper <= 0 for b in bounds):
        return Direction.PRODUCTION
    return Direction.MIXED


def group_key(offer: FlexOffer, params: AggregationParameters) -> GroupKey | None:
    """The grid cell of an offer, or ``None`` when it stays single (see the module docstring)."""
    table = OfferTable.from_offers([offer])
    return cell_columns(table, derive_bounds(table), params).key(table, 0)


def time_flexibility_loss(agg: Aggregate) -> int:
    """Aggregation loss in time flexibility: ``sum tf(members) - tf(aggregate)`` [intervals] (reference 5).

    Each member keeps ``tf(a)`` of its own ``tf(f)`` start choices, so the members' lost start choices are
    ``sum (tf(f) - tf(a))``, zero when every member has the same tf (tf tolerance 0, start alignment).
    """
    return sum(time_flexibility(m) for m in agg.members) - time_flexibility(agg.offer)


def aggregate(members: Sequence[FlexOffer], params: AggregationParameters) -> Aggregate:
    """Sum members into one aggregate (see :mod:`goflex.flex.grouping`).

    Args:
        members: valid fixed-duration offers with the same interval length and anchor phase, >= 1.
        params: supplies the alignment, the TEC policy and ``aggregator_id``.

    Raises:
        ValueError: when ``members`` is empty or a member has no fixed-duration expansion.
    """
    if not members:
        raise ValueError("an aggregate needs at least one member")
    ordered = sorted(members, key=lambda m: m.id)
    table = OfferTable.from_offers(ordered)
    if not table.fixed.all():
        raise ValueError(f"{ordered[int(np.argmin(table.fixed))].id}: not a fixed-duration offer")
    everyone = np.arange(len(ordered), dtype=np.int64)
    return sum_groups(table, derive_bounds(table), everyone, np.zeros(1, dtype=np.int64), params)[0]


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

    def _load(self, key: GroupKey | None, cell: list[Aggregate], ids: set[str]) -> None:
        """Install a cell built in batch (only :func:`aggregate_all` on an empty aggregator)."""
        if key is None:
            raise ValueError("a cell needs a key")
        self._cells[key] = cell
        self._cell_ids[key] = ids

    def aggregates(self) -> tuple[Aggregate, ...]:
        """Every aggregate, sorted by aggregate id."""
        return tuple(sorted((a for cell in self._cells.values() for a in cell), key=lambda a: a.offer.id))

    def singles(self) -> tuple[FlexOffer, ...]:
        """Offers that stay single (see :func:`group_key`), sorted by id."""
        return tuple(self._offers[i] for i in sorted(self._offers) if self._keys[i] is None)


def _id_rank(ids: list[str]) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
    """Rank of each offer's id in sorted order.

    Raises:
        ValueError: when two offers share an id.
    """
    if any("\0" in i for i in ids):  # numpy's fixed-width strings drop trailing NULs: sort in Python
        order = np.array(sorted(range(len(ids)), key=ids.__getitem__), dtype=np.int64)
    else:  # same order as Python's str comparison (code points), a third faster
        order = np.argsort(np.array(ids), kind="stable").astype(np.int64)
    ordered = [ids[i] for i in order.tolist()]
    for a, b in itertools.pairwise(ordered):
        if a == b:
            raise ValueError(f"{a}: already aggregated; use update")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids), dtype=np.int64)
    return rank


def aggregate_all(offers: Iterable[FlexOffer], params: AggregationParameters) -> Aggregator:
    """Aggregate a batch of offers from scratch, vectorised (columns, sort by key, summed with ``bincount``).

    The result equals adding the offers one by one to an empty :class:`Aggregator` (property-tested), and the
    returned aggregator goes on incrementally from there.

    Raises:
        ValueError: when two offers share an id.
    """
    batch = list(offers)
    aggregator = Aggregator(params)
    if not batch:
        return aggregator
    table = OfferTable.from_offers(batch)
    rank = _id_rank(table.ids)
    bounds = derive_bounds(table)
    cells = cell_columns(table, bounds, params)
    order, starts, cell_starts = form_groups(table, cells, rank, params.max_members)
    aggregates = sum_groups(table, bounds, order, starts, params)
    keys: list[GroupKey | None] = [None] * len(batch)
    group_ends = [*starts.tolist(), order.size]
    rows = order.tolist()
    cell_bounds = [*cell_starts.tolist(), starts.size]
    for c in range(cell_starts.size):
        g0, g1 = cell_bounds[c], cell_bounds[c + 1]
        members = rows[group_ends[g0] : group_ends[g1]]
        key = cells.key(table, members[0])
        for r in members:
            keys[r] = key
        aggregator._load(key, aggregates[g0:g1], {table.ids[r] for r in members})
    aggregator._offers = dict(zip(table.ids, batch, strict=True))
    aggregator._keys = dict(zip(table.ids, keys, strict=True))
    return aggregator
