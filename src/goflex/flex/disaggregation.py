"""Disaggregation of aggregate schedules into valid member schedules, vectorised (pure; reference flexoffer.md 4).

Given an aggregate's schedule (start ``s_a``, one amount ``x(k)`` [kWh] per interval):

1. member ``i`` starts at ``s_a + offsets[i]`` intervals (``EST(f_i) + (s_a - EST(a))`` under start alignment),
   inside its own window by construction of the aggregate;
2. per interval ``k``, over the members active at ``k`` with per-interval bounds ``[l_i, h_i]``, every member is
   filled to the same fraction ``p = (x - sum l_i) / sum (h_i - l_i)`` (``p = 1`` when the ranges sum to 0):
   bounds hold and the amounts add up to ``x``. The bounds are the members' inner boxes
   (:mod:`goflex.flex.offer_table`) when ``x`` lies within their sums at every interval - always so for an
   aggregate built with the default ``box`` TEC policy, and then every member's TEC holds by construction -
   else the TEC-tightened bounds;
3. a member's slice amount is the sum of its per-interval amounts over the slice;
4. when a member's total then breaks its TEC (only possible for aggregates built with the ``sum`` policy), that
   aggregate's assignment is solved exactly as a small LP (HiGHS): per-interval sums equal ``x(k)``, values
   within bounds, totals within the TECs, minimising the L1 deviation from the proportional fill. The GOFLEX
   reference code tried 5 greedy passes and logged an error instead.

:func:`disaggregate_many` does steps 1-3 for any number of aggregates at once in numpy (one table of all their
members) and calls the LP only for the aggregates that need it; :func:`disaggregate` is the same for one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import highspy
import numpy as np

from goflex.flex.aggregation_model import Aggregate
from goflex.flex.errors import FlexOfferError
from goflex.flex.model import Schedule, ScheduleSlice
from goflex.flex.offer_table import (
    Bounds,
    Floats,
    Ints,
    OfferTable,
    derive_bounds,
    from_us,
    segment_sum,
    take_bounds,
    to_us,
)
from goflex.flex.validation import ENERGY_TOLERANCE_KWH, validate_schedule

LP_TOLERANCE = 1e-10
"""HiGHS primal feasibility tolerance, below :data:`ENERGY_TOLERANCE_KWH` so totals pass validation."""


class InvalidAggregateSchedule(FlexOfferError):  # noqa: N818 - named for what is wrong (style.md 5)
    """The schedule is not valid for the aggregate; reject it (``problems`` lists why)."""

    def __init__(self, aggregate_id: str, problems: Sequence[str]) -> None:
        super().__init__(f"{aggregate_id}: invalid aggregate schedule: {'; '.join(problems)}")
        self.problems = tuple(problems)


class NoValidDisaggregation(FlexOfferError):  # noqa: N818 - named for what is wrong (style.md 5)
    """The aggregate schedule is valid but no member assignment meets every member's constraints.

    Only aggregates built with the ``sum`` TEC policy can raise it: summed total-energy constraints forget which
    intervals each spans, so some of their schedules cannot be split; the caller should choose another schedule.
    """


def exact_repair(
    lo: Floats,
    hi: Floats,
    *,
    position: Ints,
    member: Ints,
    totals: tuple[Floats, Floats],
    amounts: Floats,
    target: Floats,
) -> Floats:
    """Solve one aggregate's member assignment exactly as an LP, closest (L1) to ``target``.

    Args:
        lo, hi: per member-interval bounds [kWh] (one entry per variable).
        position: the aggregate interval of each variable.
        member: the member (0-based within the aggregate) of each variable.
        totals: per member, the bounds of its total [kWh].
        amounts: the aggregate's amount per interval [kWh].
        target: the proportional fill, one entry per variable [kWh].

    Returns:
        One value per variable [kWh].

    Raises:
        NoValidDisaggregation: when the LP is infeasible.
    """
    h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no stubs
    h.setOptionValue("output_flag", False)
    h.setOptionValue("primal_feasibility_tolerance", LP_TOLERANCE)
    n = lo.size
    no_index, no_value = np.array([], dtype=np.int32), np.array([], dtype=np.float64)
    for j in range(n):
        h.addCol(0.0, float(lo[j]), float(hi[j]), 0, no_index, no_value)
    # Deviation d_j >= |x_j - target_j|: columns n .. 2n-1 with cost 1.
    for _ in range(n):
        h.addCol(1.0, 0.0, highspy.kHighsInf, 0, no_index, no_value)
    for j, t in enumerate(target.tolist()):
        idx = np.array([j, n + j], dtype=np.int32)
        h.addRow(-highspy.kHighsInf, t, 2, idx, np.array([1.0, -1.0]))  # x - d <= t
        h.addRow(t, highspy.kHighsInf, 2, idx, np.array([1.0, 1.0]))  # x + d >= t
    for k, x in enumerate(amounts.tolist()):
        cols = np.flatnonzero(position == k).astype(np.int32)
        if cols.size:
            h.addRow(x, x, cols.size, cols, np.ones(cols.size))
    for i, (t_lo, t_hi) in enumerate(zip(totals[0].tolist(), totals[1].tolist(), strict=True)):
        cols = np.flatnonzero(member == i).astype(np.int32)
        h.addRow(t_lo, t_hi, cols.size, cols, np.ones(cols.size))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise NoValidDisaggregation(
            f"no member assignment meets every constraint ({h.modelStatusToString(h.getModelStatus())})"
        )
    return np.array(h.getSolution().col_value[:n], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Disaggregation:
    """Member schedules of one aggregate schedule.

    Attributes:
        schedules: member id -> its schedule (one amount per slice [kWh]).
        interval_amounts: member id -> its amount per interval [kWh] from its first interval on; a slice's
            amount is the sum over its intervals, and at every aggregate interval the members' amounts add up
            to the aggregate's.
    """

    schedules: dict[str, Schedule]
    interval_amounts: dict[str, tuple[float, ...]]


@dataclass(frozen=True, slots=True, eq=False)
class MemberSchedules:
    """Member schedules of many aggregate schedules, in columns (see :func:`disaggregate_many`).

    Attributes:
        aggregates: the aggregates, in input order.
        table: their members, aggregate after aggregate, each aggregate's members in its order.
        member_first: index in ``table`` of each aggregate's first member.
        start_us: each member's schedule start [us since the epoch].
        slice_amounts: per flat slice of ``table``, the member's amount [kWh].
        interval_amounts: per flat interval of ``table``, the member's amount [kWh].
        repaired: number of aggregates that needed the LP.
    """

    aggregates: Sequence[Aggregate]
    table: OfferTable
    member_first: Ints
    start_us: Ints
    slice_amounts: Floats
    interval_amounts: Floats
    repaired: int

    def _schedules(self, rows: range) -> dict[str, Schedule]:
        t = self.table
        amounts, durations = self.slice_amounts.tolist(), t.slice_duration.tolist()
        firsts, counts, starts = t.slice_first.tolist(), t.slice_count.tolist(), self.start_us.tolist()
        times: dict[int, datetime] = {}  # members share few distinct starts
        out = {}
        for r in rows:
            a, start = firsts[r], starts[r]
            moment = times.get(start)
            if moment is None:
                moment = times[start] = from_us(start)
            slices = tuple(map(ScheduleSlice, durations[a : a + counts[r]], amounts[a : a + counts[r]]))
            out[t.offers[r].id] = Schedule(moment, slices)
        return out

    def schedules(self) -> dict[str, Schedule]:
        """Every member's schedule, by member id."""
        return self._schedules(range(len(self.table)))

    def disaggregation(self, index: int) -> Disaggregation:
        """The member schedules of aggregate ``index`` (in input order)."""
        rows = range(int(self.member_first[index]), int(self.member_first[index]) + len(self.aggregates[index].members))
        t = self.table
        values = self.interval_amounts
        amounts = {t.offers[r].id: tuple(values[t.first[r] : t.first[r] + t.n_intervals[r]].tolist()) for r in rows}
        return Disaggregation(self._schedules(rows), amounts)


def _check_schedules(items: Sequence[tuple[Aggregate, Schedule]]) -> None:
    for aggregate, schedule in items:
        problems = validate_schedule(aggregate.offer, schedule)
        if problems:
            raise InvalidAggregateSchedule(aggregate.offer.id, [f"{p.field}: {p.rule}" for p in problems])


def _member_columns(items: Sequence[tuple[Aggregate, Schedule]]) -> tuple[OfferTable, Bounds]:
    """The members' columns: taken from the batch the aggregates were built in, else read again."""
    members = [m for aggregate, _ in items for m in aggregate.members]
    sources = [aggregate.columns for aggregate, _ in items]
    first = sources[0] if sources else None
    if first is not None and all(c is not None and c.table is first.table for c in sources):
        rows = np.concatenate([c.rows for c in sources if c is not None])
        return first.table.take(rows, members), take_bounds(first.bounds, first.table, rows)
    table = OfferTable.from_offers(members)
    return table, derive_bounds(table)


def disaggregate_many(items: Sequence[tuple[Aggregate, Schedule]]) -> MemberSchedules:
    """Split schedules of many aggregates into member schedules at once (see the module docstring).

    Args:
        items: (aggregate, a schedule of ``aggregate.offer``) pairs; aggregates from
            :mod:`goflex.flex.aggregation` (fixed-duration members).

    Returns:
        The member schedules in columns; each is valid for its member (start in window, amounts in bounds, total
        in the TEC) and at every aggregate interval the members' amounts add up to the aggregate's.

    Raises:
        InvalidAggregateSchedule: when a schedule is not valid for its aggregate (the first such).
        NoValidDisaggregation: when no member assignment meets every member's constraints.
    """
    _check_schedules(items)
    table, bounds = _member_columns(items)
    if not table.fixed.all():
        bad = table.offers[int(np.argmin(table.fixed))]
        raise NoValidDisaggregation(f"{bad.id}: not a fixed-duration member")
    sizes = np.array([len(a.members) for a, _ in items], dtype=np.int64)
    member_first = np.zeros(len(items), dtype=np.int64)
    np.cumsum(sizes[:-1], out=member_first[1:])
    owner = np.repeat(np.arange(len(items)), sizes)
    offsets = np.array([o for a, _ in items for o in a.offsets], dtype=np.int64)
    amounts = np.array([item.energy_amount for _, s in items for item in s.slices], dtype=np.float64)
    lengths = np.array([len(s.slices) for _, s in items], dtype=np.int64)
    agg_first = np.zeros(len(items), dtype=np.int64)
    np.cumsum(lengths[:-1], out=agg_first[1:])
    starts = np.array([to_us(s.start_time) for _, s in items], dtype=np.int64)
    row = table.interval_offer
    within = np.arange(row.size) - table.first[row]
    position = agg_first[owner][row] + offsets[row] + within
    n = amounts.size
    # Inner boxes where the amounts fit their sums at every interval of the aggregate, else tightened bounds.
    box_low = segment_sum(position, bounds.box_lo, n)
    box_high = segment_sum(position, bounds.box_hi, n)
    slack = ENERGY_TOLERANCE_KWH
    misfit = ((amounts < box_low - slack) | (amounts > box_high + slack)).astype(np.float64)
    interval_owner = np.repeat(np.arange(len(items)), lengths)
    use_box = (segment_sum(interval_owner, misfit, len(items)) == 0)[owner][row]
    lo = np.where(use_box, bounds.box_lo, bounds.tight_lo)
    hi = np.where(use_box, bounds.box_hi, bounds.tight_hi)
    low_sum, span_sum = segment_sum(position, lo, n), segment_sum(position, hi - lo, n)
    safe_span = np.where(span_sum > 0, span_sum, 1.0)
    fraction = np.where(span_sum > 0, ((amounts - low_sum) / safe_span).clip(0.0, 1.0), 1.0)
    values = lo + fraction[position] * (hi - lo)
    values, repaired = _repair(table, bounds, columns=(lo, hi, values, position, row), owner=owner, amounts=amounts)
    slice_of = np.repeat(np.arange(table.slice_duration.size), table.slice_duration)
    slice_amounts = np.minimum(
        table.slice_upper, np.maximum(table.slice_lower, segment_sum(slice_of, values, table.slice_duration.size))
    )
    start_us = starts[owner] + offsets * table.step_us
    _check_members(table, bounds.total_lo, bounds.total_hi, slice_amounts, start_us)
    return MemberSchedules(tuple(a for a, _ in items), table, member_first, start_us, slice_amounts, values, repaired)


def _repair(
    table: OfferTable,
    bounds: Bounds,
    *,
    columns: tuple[Floats, Floats, Floats, Ints, Ints],
    owner: Ints,
    amounts: Floats,
) -> tuple[Floats, int]:
    """Re-solve by LP the aggregates where a member's total breaks its TEC; returns the values and their count."""
    lo, hi, values, position, row = columns
    total_lo, total_hi = bounds.total_lo, bounds.total_hi
    totals = segment_sum(row, values, len(table))
    breaks = (totals < total_lo - ENERGY_TOLERANCE_KWH) | (totals > total_hi + ENERGY_TOLERANCE_KWH)
    broken = np.unique(owner[breaks])
    if broken.size == 0:
        return values, 0
    values = values.copy()
    member_rows = np.flatnonzero(np.isin(owner, broken))
    for g in broken.tolist():
        rows = member_rows[owner[member_rows] == g]
        flat = np.flatnonzero(np.isin(row, rows))
        k0 = int(position[flat].min()) if flat.size else 0
        span = np.arange(k0, int(position[flat].max()) + 1 if flat.size else k0)
        local = position[flat] - k0
        member = np.searchsorted(rows, row[flat])
        values[flat] = exact_repair(
            lo[flat],
            hi[flat],
            position=local,
            member=member,
            totals=(total_lo[rows], total_hi[rows]),
            amounts=amounts[span],
            target=values[flat],
        )
    return values, int(broken.size)


def _check_members(table: OfferTable, total_lo: Floats, total_hi: Floats, slice_amounts: Floats, start: Ints) -> None:
    """Every member schedule valid: start on the grid in its window, total within its TEC (amounts are clamped)."""
    totals = segment_sum(table.slice_offer, slice_amounts, len(table))
    slack = ENERGY_TOLERANCE_KWH
    bad_total = table.has_tec & ((totals < table.tec_lo - slack) | (totals > table.tec_hi + slack))
    bad_start = (start < table.est_us) | (start > table.lst_us) | ((start - table.est_us) % table.step_us != 0)
    bad = np.flatnonzero(bad_total | bad_start)
    if bad.size:
        offer = table.offers[int(bad[0])]
        raise NoValidDisaggregation(f"{offer.id}: no valid share of its aggregate's schedule")


def disaggregate(aggregate: Aggregate, schedule: Schedule) -> Disaggregation:
    """Split a schedule of the aggregate into one valid schedule per member (:func:`disaggregate_many` of one).

    Args:
        aggregate: from :func:`goflex.flex.aggregation.aggregate`.
        schedule: a schedule of ``aggregate.offer`` (one duration-1 slice per interval, amounts [kWh]).

    Returns:
        Each member's schedule, valid for the member (start in window, amounts in bounds, total in the TEC),
        and its per-interval amounts, which add up to the aggregate's per interval.

    Raises:
        InvalidAggregateSchedule: when ``schedule`` is not valid for ``aggregate.offer``.
        NoValidDisaggregation: when no member assignment meets every member's constraints.
    """
    return disaggregate_many([(aggregate, schedule)]).disaggregation(0)
