"""Disaggregation of an aggregate's schedule into valid member schedules (pure; reference flexoffer.md section 4).

Given the aggregate's schedule (start ``s_a``, one amount ``x(k)`` [kWh] per interval):

1. each member starts at ``s_i = EST(f_i) + (s_a - EST(a))``, inside its own window because
   ``tf(a) = min tf``;
2. per interval ``k``, over the members active at ``k`` with per-interval bounds ``[l_i, h_i]`` (see
   :mod:`goflex.flex.aggregation` for the expansion), every member is filled to the same fraction
   ``p = (x - sum l_i) / sum (h_i - l_i)`` (``p = 1`` when the ranges sum to 0): bounds hold and the amounts
   add up to ``x``;
3. a member's slice amount is the sum of its per-interval amounts over the slice;
4. when a member's total then breaks its total-energy constraint, the whole assignment is solved exactly as a
   small LP (HiGHS): per-interval sums equal ``x(k)``, per-interval values within bounds, totals within the
   TECs, minimising the L1 deviation from the proportional fill. The GOFLEX reference code tried 5 greedy
   passes and logged an error instead.

Limit: summed TECs forget which intervals each TEC spans, so an aggregate with a member whose TEC binds can
have valid schedules that no member assignment meets; :class:`NoValidDisaggregation` says so. Aggregating with
``AggregationParameters(single_binding_tec=True)`` rules this out (members are then boxes, and the
proportional fill always meets them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import highspy
import numpy as np

from goflex.flex.aggregation import Aggregate, effective_total, member_bounds
from goflex.flex.errors import FlexOfferError
from goflex.flex.model import EnergyConstraint, FlexOffer, Schedule, ScheduleSlice
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

    Start-aligned aggregation keeps only the sum of the members' total-energy constraints, so some aggregate
    schedules with TEC members cannot be split; the caller should choose another aggregate schedule.
    """


@dataclass(frozen=True, slots=True)
class _Layout:
    """Member ``i`` is active at aggregate intervals ``offsets[i] .. offsets[i] + len(bounds[i]) - 1``."""

    offsets: tuple[int, ...]
    bounds: tuple[tuple[EnergyConstraint, ...], ...]
    totals: tuple[EnergyConstraint, ...]


def _layout(aggregate: Aggregate) -> _Layout:
    bounds = tuple(member_bounds(m) for m in aggregate.members)
    totals = tuple(effective_total(m, b) for m, b in zip(aggregate.members, bounds, strict=True))
    return _Layout(aggregate.offsets, bounds, totals)


def proportional_fill(
    layout_bounds: Sequence[Sequence[EnergyConstraint]], offsets: Sequence[int], amounts: Sequence[float]
) -> list[list[float]]:
    """Fill every active member to the same fraction of its range, per interval.

    Args:
        layout_bounds: per member, its per-interval bounds [kWh].
        offsets: per member, its first aggregate interval.
        amounts: the aggregate's amount per interval [kWh], within the summed bounds.

    Returns:
        Per member, its per-interval amounts [kWh].
    """
    low = [0.0] * len(amounts)
    span = [0.0] * len(amounts)
    for offset, bounds in zip(offsets, layout_bounds, strict=True):
        for k, b in enumerate(bounds, start=offset):
            low[k] += b.lower
            span[k] += b.upper - b.lower
    fraction = [
        1.0 if s <= 0 else min(1.0, max(0.0, (x - lo) / s)) for x, lo, s in zip(amounts, low, span, strict=True)
    ]
    return [
        [b.lower + fraction[k] * (b.upper - b.lower) for k, b in enumerate(bounds, start=offset)]
        for offset, bounds in zip(offsets, layout_bounds, strict=True)
    ]


def _breaks_total(values: Sequence[float], total: EnergyConstraint) -> bool:
    s = sum(values)
    return not total.lower - ENERGY_TOLERANCE_KWH <= s <= total.upper + ENERGY_TOLERANCE_KWH


def _index(layout: _Layout) -> list[list[int]]:
    columns, n = [], 0
    for bounds in layout.bounds:
        columns.append(list(range(n, n + len(bounds))))
        n += len(bounds)
    return columns


def exact_repair(layout: _Layout, amounts: Sequence[float], target: Sequence[Sequence[float]]) -> list[list[float]]:
    """Solve the member assignment exactly as an LP, closest (L1) to ``target``.

    Raises:
        NoValidDisaggregation: when the LP is infeasible.
    """
    h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no stubs
    h.setOptionValue("output_flag", False)
    h.setOptionValue("primal_feasibility_tolerance", LP_TOLERANCE)
    columns = _index(layout)
    n = sum(len(c) for c in columns)
    for bounds in layout.bounds:
        for b in bounds:
            h.addCol(0.0, b.lower, b.upper, 0, np.array([], dtype=np.int32), np.array([], dtype=np.float64))
    # Deviation d_j >= |x_j - target_j|: columns n .. 2n-1 with cost 1.
    for _ in range(n):
        h.addCol(1.0, 0.0, highspy.kHighsInf, 0, np.array([], dtype=np.int32), np.array([], dtype=np.float64))
    flat_target = [t for row in target for t in row]
    for j, t in enumerate(flat_target):
        idx = np.array([j, n + j], dtype=np.int32)
        h.addRow(-highspy.kHighsInf, t, 2, idx, np.array([1.0, -1.0]))  # x - d <= t
        h.addRow(t, highspy.kHighsInf, 2, idx, np.array([1.0, 1.0]))  # x + d >= t
    per_interval: list[list[int]] = [[] for _ in amounts]
    for offset, cols in zip(layout.offsets, columns, strict=True):
        for k, j in enumerate(cols, start=offset):
            per_interval[k].append(j)
    for x, cols in zip(amounts, per_interval, strict=True):
        if cols:
            h.addRow(x, x, len(cols), np.array(cols, dtype=np.int32), np.ones(len(cols)))
    for total, cols in zip(layout.totals, columns, strict=True):
        h.addRow(total.lower, total.upper, len(cols), np.array(cols, dtype=np.int32), np.ones(len(cols)))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise NoValidDisaggregation(
            f"no member assignment meets every constraint ({h.modelStatusToString(h.getModelStatus())})"
        )
    solution = list(h.getSolution().col_value)
    return [[solution[j] for j in cols] for cols in columns]


def _member_schedule(offer: FlexOffer, start: datetime, values: Sequence[float]) -> Schedule:
    slices, k = [], 0
    for s in offer.profile:
        d, c = s.min_duration, s.energy_constraints[0]
        # Clamp away float rounding: l/d added d times may miss l by an ulp, and validation has no slack there.
        slices.append(ScheduleSlice(d, min(c.upper, max(c.lower, sum(values[k : k + d])))))
        k += d
    return Schedule(start, tuple(slices))


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


def disaggregate(aggregate: Aggregate, schedule: Schedule) -> Disaggregation:
    """Split a schedule of the aggregate into one valid schedule per member.

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
    problems = validate_schedule(aggregate.offer, schedule)
    if problems:
        raise InvalidAggregateSchedule(aggregate.offer.id, [f"{p.field}: {p.rule}" for p in problems])
    amounts = [s.energy_amount for s in schedule.slices]
    layout = _layout(aggregate)
    values = proportional_fill(layout.bounds, layout.offsets, amounts)
    if any(_breaks_total(v, t) for v, t in zip(values, layout.totals, strict=True)):
        values = exact_repair(layout, amounts, values)
    shift = schedule.start_time - aggregate.offer.start_after_time
    schedules = {}
    for member, member_values in zip(aggregate.members, values, strict=True):
        member_schedule = _member_schedule(member, member.start_after_time + shift, member_values)
        if validate_schedule(member, member_schedule):
            raise NoValidDisaggregation(f"{member.id}: no valid share of {aggregate.offer.id}'s schedule")
        schedules[member.id] = member_schedule
    return Disaggregation(schedules, {m.id: tuple(v) for m, v in zip(aggregate.members, values, strict=True)})
