"""Grouping on the tolerance grid and summing of groups, vectorised over a whole :class:`OfferTable` (pure).

Both the incremental :class:`goflex.flex.aggregation.Aggregator` (one cell at a time) and the batch
:func:`goflex.flex.aggregation.aggregate_all` (every offer at once) call :func:`sum_groups`, so an aggregate is
the same value, bit for bit, whichever way it was built (reference flexoffer.md section 3).

Grid: an offer's key is (interval length, phase of its anchor on the interval grid, direction, anchor cell,
tf cell) with ``cell = floor(value / tolerance)`` (tolerance 0: the value itself), the anchor counted in
intervals from ``params.origin``; the anchor is the EST (start alignment) or the default schedule's start
(baseline alignment, :class:`goflex.flex.aggregation_model.Alignment`). A cell's members sorted by id are cut
into groups of ``max_members``.

Summing with anchors ``A_f`` (EST under start alignment): ``R = min A_f``; member ``f`` sits at offset
``A_f - R``; a common shift ``d`` of every member from its anchor must keep each in its window, so
``d in [max (EST_f - A_f), min (LST_f - A_f)]``, which gives ``EST(a) = R + max (EST_f - A_f)`` and
``tf(a) = min (LST_f - A_f) - max (EST_f - A_f)``. Under start alignment this is ``EST(a) = min EST`` and
``tf(a) = min tf``. Per-interval bounds are summed (inner boxes under the ``box`` TEC policy), TECs are summed
as effective totals (present when a member has a TEC), and creation time and deadlines take the minimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from goflex.flex.aggregation_model import (
    Aggregate,
    AggregationParameters,
    Alignment,
    Direction,
    GroupKey,
    MemberColumns,
    TecPolicy,
    aggregate_id,
)
from goflex.flex.model import EnergyConstraint, FlexOffer, FlexOfferState, ProfileSlice, Schedule, ScheduleSlice
from goflex.flex.offer_table import Bools, Bounds, Ints, OfferTable, from_us, gather, segment_sum, to_us

DIRECTIONS = (Direction.CONSUMPTION, Direction.PRODUCTION, Direction.MIXED)
"""Direction by code (the code is the column value in :class:`Cells`)."""


@dataclass(frozen=True, slots=True, eq=False)
class Cells:
    """Per offer: whether it is grouped at all, and the columns of its :data:`GroupKey`."""

    groupable: Bools
    phase_us: Ints
    direction: Ints
    cell: Ints
    tf_cell: Ints

    def key(self, table: OfferTable, row: int) -> GroupKey | None:
        """The group key of one row as plain Python values, or ``None`` when it stays single."""
        if not self.groupable[row]:
            return None
        return (
            int(table.step_us[row]) // 1_000_000,
            int(self.phase_us[row]) / 1_000_000,
            DIRECTIONS[int(self.direction[row])],
            int(self.cell[row]),
            int(self.tf_cell[row]),
        )


def anchors(table: OfferTable, params: AggregationParameters) -> Ints:
    """The anchor of each offer [us since the epoch]: its EST, or its default start under baseline alignment."""
    return table.anchor_us if params.alignment is Alignment.BASELINE else table.est_us


def _cell(values: Ints, tolerance: int) -> Ints:
    return values if tolerance == 0 else values // tolerance


def cell_columns(table: OfferTable, bounds: Bounds, params: AggregationParameters) -> Cells:
    """The grid cell of every offer (see the module docstring).

    An offer stays single without a per-interval expansion, or when its TEC binds under the ``single`` policy.
    """
    since = anchors(table, params) - to_us(params.origin)
    direction = np.where(~bounds.negative_lower, 0, np.where(~bounds.positive_upper, 1, 2)).astype(np.int64)
    groupable = table.fixed.copy()
    if params.effective_tec_policy is TecPolicy.SINGLE:
        groupable &= ~bounds.binding
    return Cells(
        groupable=groupable,
        phase_us=since % table.step_us,
        direction=direction,
        cell=_cell(since // table.step_us, params.est_tolerance),
        tf_cell=_cell(table.tf_intervals, params.tf_tolerance),
    )


def form_groups(table: OfferTable, cells: Cells, id_rank: Ints, max_members: int) -> tuple[Ints, Ints, Ints]:
    """Sort the groupable rows by key and id and cut each cell into groups of ``max_members``.

    Returns:
        ``order`` (rows in group order), ``starts`` (index in ``order`` of each group's first member) and
        ``cell_starts`` (index in ``starts`` of each cell's first group).
    """
    rows = np.flatnonzero(cells.groupable)
    columns = (table.step_us, cells.phase_us, cells.direction, cells.cell, cells.tf_cell)
    order = rows[np.lexsort((id_rank[rows], *(c[rows] for c in reversed(columns))))]
    if order.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return order, empty, empty
    new_cell = np.zeros(order.size, dtype=np.bool_)
    new_cell[0] = True
    for column in columns:
        values = column[order]
        new_cell[1:] |= values[1:] != values[:-1]
    cell_first = np.flatnonzero(new_cell)
    position = np.arange(order.size) - np.repeat(cell_first, np.diff(np.append(cell_first, order.size)))
    new_group = position % max_members == 0
    starts = np.flatnonzero(new_group)
    cell_starts = np.flatnonzero(new_cell[starts])
    return order, starts, cell_starts


def _default_schedule(members: list[FlexOffer], offsets: list[int], length: int) -> Schedule | None:
    """The members' baselines added up per interval (baseline alignment), if every member has a usable one."""
    amounts = [0.0] * length
    for member, offset in zip(members, offsets, strict=True):
        default = member.default_schedule
        if default is None or len(default.slices) != len(member.profile):
            return None
        k = offset
        for item in default.slices:
            for _ in range(item.duration):
                amounts[k] += item.energy_amount / item.duration
                k += 1
    start = min(m.default_schedule.start_time for m in members if m.default_schedule is not None)
    return Schedule(start, tuple(ScheduleSlice(1, a) for a in amounts))


def sum_groups(
    table: OfferTable, bounds: Bounds, order: Ints, starts: Ints, params: AggregationParameters
) -> list[Aggregate]:
    """Sum each group ``order[starts[g] : starts[g + 1]]`` of rows into an :class:`Aggregate`.

    Rows of a group must share the interval length and the anchor's phase, and be sorted by id.
    """
    n_groups = starts.size
    if n_groups == 0:
        return []
    sizes = np.diff(np.append(starts, order.size))
    group = np.repeat(np.arange(n_groups), sizes)
    step = table.step_us[order]
    ref = anchors(table, params)[order]
    base = np.minimum.reduceat(ref, starts)
    offsets = (ref - base[group]) // step
    shift_lo = np.maximum.reduceat((table.est_us[order] - ref) // step, starts)
    shift_hi = np.minimum.reduceat((table.lst_us[order] - ref) // step, starts)
    n = table.n_intervals[order]
    length = np.maximum.reduceat(offsets + n, starts)
    first_target = np.zeros(n_groups, dtype=np.int64)
    np.cumsum(length[:-1], out=first_target[1:])
    member_of = np.repeat(np.arange(order.size), n)
    within = np.arange(member_of.size) - np.repeat(np.cumsum(n) - n, n)
    source = table.first[order][member_of] + within
    target = first_target[group][member_of] + offsets[member_of] + within
    boxed = params.effective_tec_policy is TecPolicy.BOX
    lo, hi = (bounds.box_lo, bounds.box_hi) if boxed else (bounds.tight_lo, bounds.tight_hi)
    total = int(length.sum())
    agg_lo = segment_sum(target, lo[source], total).tolist()
    agg_hi = segment_sum(target, hi[source], total).tolist()
    tec_lo = segment_sum(group, bounds.total_lo[order], n_groups).tolist()
    tec_hi = segment_sum(group, bounds.total_hi[order], n_groups).tolist()
    any_tec = np.maximum.reduceat(table.has_tec[order], starts).tolist()
    est_a = (base + shift_lo * table.step_us[order][starts]).tolist()
    tf_a = (shift_hi - shift_lo).tolist()
    deadlines = np.minimum.reduceat(table.deadlines_us[order], starts, axis=0).tolist()
    in_order, ids_in_order, offset_list = gather(table.offers, order), gather(table.ids, order), offsets.tolist()
    bounds_list = [*starts.tolist(), order.size]
    targets = [*first_target.tolist(), total]
    aggregates = []
    for g in range(n_groups):
        members = in_order[bounds_list[g] : bounds_list[g + 1]]
        member_offsets = offset_list[bounds_list[g] : bounds_list[g + 1]]
        t0, t1 = targets[g], targets[g + 1]
        seconds = members[0].num_seconds_per_interval
        est = from_us(est_a[g])
        default = (
            _default_schedule(members, member_offsets, t1 - t0) if params.alignment is Alignment.BASELINE else None
        )
        offer = FlexOffer(
            id=aggregate_id(ids_in_order[bounds_list[g] : bounds_list[g + 1]]),  # sorted already: a linear sort
            state=FlexOfferState.INITIAL,
            offered_by_id=params.aggregator_id,
            creation_time=from_us(deadlines[g][0]),
            accept_before_time=from_us(deadlines[g][1]),
            assignment_before_time=from_us(deadlines[g][2]),
            start_after_time=est,
            start_before_time=from_us(est_a[g] + tf_a[g] * seconds * 1_000_000),
            profile=tuple(
                ProfileSlice(1, 1, (EnergyConstraint(a, b),)) for a, b in zip(agg_lo[t0:t1], agg_hi[t0:t1], strict=True)
            ),
            num_seconds_per_interval=seconds,
            total_energy_constraint=EnergyConstraint(tec_lo[g], tec_hi[g]) if any_tec[g] else None,
            default_schedule=default,
        )
        columns = MemberColumns(table, bounds, order[bounds_list[g] : bounds_list[g + 1]])
        aggregates.append(Aggregate(offer, tuple(members), tuple(member_offsets), columns))
    return aggregates
