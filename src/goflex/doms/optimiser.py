"""Rolling-horizon choice of load shedding against the imbalance penalty, as one HiGHS LP (seed 3.3.2) (pure).

Seed 3.3.2: "Try to minimize the penalty caused by the error over a given horizon with load displacement. This
requires the imbalance energy price to be optimized economically as well as a simulation of load displacement."

Model, over ``T`` quarter hours (15-minute steps, several hours to a day):

* Each :class:`ShedOffer` is a group of alike devices on relays (a FOA's interruption offer, flexoffer.md 2). A
  *block* ``x[o, t, L]`` [MW] opens relays of devices whose baseline power is ``x`` from quarter ``t`` for ``L``
  quarters (``L`` in the offer's comfort-limited durations), which lowers the load by ``x``; when they close, the
  devices recover the withheld heat: a *rebound* of ``rebound_factor x L`` quarter-MW at the devices' spare power
  ``x (1 - duty) / duty`` (their thermostats all call at once, physics-and-grid.md 3: "a payback peak comparable
  to the shed power for 1-2 h"). The shape is fixed, so the LP sees the rebound where physics puts it.
* Devices blocked or recovering cannot be blocked again: per offer and quarter, the blocks covering the quarter
  (block or rebound phase) stay within the offer's capacity ``cap_mw`` minus what blocks in progress hold.
* The natural imbalance is uncertain: ``K`` scenarios (forecast quantiles) with weights. Per scenario and quarter,
  ``short - long = imbalance + delta`` with ``short, long >= 0`` and the penalty rates of
  :mod:`goflex.doms.prices`; the objective is the expected penalty plus the flexibility's price per MWh shed.
* Dead band (seed 3.3.2, "+/-1MW dead zone" between TG8000 and the 65 kV metering): no block may cover a quarter
  whose projected imbalance (median scenario plus the committed rebound) lies inside the band; the caller may mark
  more quarters as not allowed (data stopped). Blocks and their rebound must end inside the horizon.

Comfort is not a cost here: it is a hard limit, through the offer's durations (computed from the devices'
physics, :mod:`goflex.doms.fleet_flex`) and the FOA's rule that a device whose comfort is at stake is released.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import highspy
import numpy as np
from numpy.typing import NDArray

from goflex.common import GoflexError
from goflex.doms.prices import PenaltyRates

F64 = NDArray[np.float64]
QUARTER_H = 0.25
DEADBAND_MW = 1.0
"""Seed 3.3.2: do not act inside the +/-1 MW dead zone."""


class OptimiserError(GoflexError):
    """The plan could not be computed (inconsistent inputs, or the solver failed); the caller must not act."""


@dataclass(frozen=True)
class ShedOffer:
    """A group of devices that can be blocked, over the horizon's ``T`` quarters.

    Attributes:
        name: label (the device group).
        cap_mw: baseline power of the offer's devices per quarter [MW] (>= 0), shape ``(T,)``.
        durations: allowed block lengths [quarters] (>= 1), from comfort.
        duty: baseline power over installed power [-] in (0, 1): sets the rebound's power.
        rebound_factor: rebound energy per energy shed [-] (>= 1 for heat pumps, about 1 for resistive loads).
        cost_eur_per_mwh: price paid per MWh shed [EUR/MWh] (>= 0).
        committed_mw: delta of blocks already running (negative = shed, positive = rebound) [MW], shape ``(T,)``.
        occupied_mw: capacity those blocks hold (block or rebound phase) [MW], shape ``(T,)``.
    """

    name: str
    cap_mw: F64
    durations: tuple[int, ...]
    duty: float
    rebound_factor: float = 1.0
    cost_eur_per_mwh: float = 2.0
    committed_mw: F64 | None = None
    occupied_mw: F64 | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.duty < 1.0 or self.rebound_factor <= 0 or self.cost_eur_per_mwh < 0:
            raise OptimiserError(f"offer {self.name}: need 0 < duty < 1, rebound_factor > 0 and cost >= 0")
        if not self.durations or min(self.durations) < 1 or np.any(self.cap_mw < 0):
            raise OptimiserError(f"offer {self.name}: durations must be >= 1 and cap_mw >= 0")

    def shape(self, length: int) -> F64:
        """Delta per MW blocked for ``length`` quarters, from the block's start [MW/MW]: -1 then the rebound."""
        return block_shape(length, self.duty, self.rebound_factor)


def block_shape(length: int, duty: float, rebound_factor: float) -> F64:
    """Delta per MW blocked, quarter by quarter from the block's start: ``-1`` x ``length``, then the rebound.

    The rebound returns ``rebound_factor x length`` quarter-MW at ``(1 - duty) / duty`` MW per MW blocked
    (the blocked devices' spare power), the last quarter taking the remainder.
    """
    spare = (1.0 - duty) / duty
    energy = rebound_factor * length
    full = math.floor(energy / spare + 1e-9)
    rest = energy - full * spare
    rebound = [spare] * full + ([rest] if rest > 1e-9 else [])
    return np.asarray([-1.0] * length + rebound, dtype=np.float64)


@dataclass(frozen=True)
class PlanProblem:
    """One optimisation over ``T`` quarters.

    Attributes:
        imbalance_mw: natural imbalance scenarios [MW], shape ``(K, T)`` (positive = short).
        weights: scenario probabilities, shape ``(K,)`` (sum 1).
        rates: penalty rates of the ``T`` quarters.
        offers: the flexibility.
        allowed: quarters where blocks may run, shape ``(T,)`` (False where data is stopped); the dead band
            is applied on top.
        deadband_mw: half-width of the dead band [MW].
        rebound_mw: load already due from past blocks' rebound [MW], shape ``(T,)``: it is part of the
            projected imbalance the dead band is judged on (the shedding of running blocks is not: it is the
            action itself).
    """

    imbalance_mw: F64
    weights: F64
    rates: PenaltyRates
    offers: tuple[ShedOffer, ...]
    allowed: NDArray[np.bool_] | None = None
    deadband_mw: float = DEADBAND_MW
    rebound_mw: F64 | None = None

    @property
    def horizon(self) -> int:
        """T, the number of quarters."""
        return int(self.imbalance_mw.shape[1])


@dataclass(frozen=True)
class Block:
    """A block chosen by the plan.

    Attributes:
        offer: index of the offer.
        start: first quarter (0 = the first quarter of the horizon).
        length: quarters blocked.
        power_mw: baseline power blocked [MW].
    """

    offer: int
    start: int
    length: int
    power_mw: float


@dataclass(frozen=True)
class Plan:
    """The optimiser's answer.

    Attributes:
        blocks: the blocks with a power above 1 kW, by start.
        delta_mw: expected change of the load per quarter (committed plus new) [MW], shape ``(T,)``.
        allowed: quarters where blocks were allowed (after the dead band), shape ``(T,)``.
        projected_mw: median scenario plus committed rebound [MW] (what the dead band was judged on).
        expected_penalty_eur: expected penalty with the plan [EUR].
        flex_cost_eur: price of the new blocks' shed energy [EUR].
        solve_s: solver time [s].
    """

    blocks: tuple[Block, ...]
    delta_mw: F64
    allowed: NDArray[np.bool_]
    projected_mw: F64
    expected_penalty_eur: float
    flex_cost_eur: float
    solve_s: float = 0.0
    columns: int = field(default=0)


def _committed(problem: PlanProblem) -> F64:
    total = np.zeros(problem.horizon)
    for offer in problem.offers:
        if offer.committed_mw is not None:
            total += offer.committed_mw
    return total


def allowed_quarters(problem: PlanProblem) -> tuple[NDArray[np.bool_], F64]:
    """Quarters where blocks may run: outside the dead band of the projected imbalance, and allowed by the caller.

    Returns:
        The mask and the projected imbalance (median scenario plus committed rebound) [MW].
    """
    median = np.median(problem.imbalance_mw, axis=0)
    projected = median + (problem.rebound_mw if problem.rebound_mw is not None else 0.0)
    mask = np.abs(projected) > problem.deadband_mw
    if problem.allowed is not None:
        mask &= problem.allowed
    return mask, np.asarray(projected, dtype=np.float64)


@dataclass(frozen=True)
class _Group:
    """The admissible blocks of one offer and one length: columns ``first .. first + starts.size - 1``."""

    offer: int
    length: int
    starts: NDArray[np.int64]
    shape: F64
    first: int
    cost_per_mw: float


def _block_columns(problem: PlanProblem, mask: NDArray[np.bool_]) -> list[_Group]:
    """Every admissible block: all its blocked quarters allowed, block and rebound inside the horizon."""
    t_max = problem.horizon
    # run[t] = allowed quarters in a row from t on
    run = np.zeros(t_max + 1, dtype=np.int64)
    for t in range(t_max - 1, -1, -1):
        run[t] = run[t + 1] + 1 if mask[t] else 0
    groups: list[_Group] = []
    first = 0
    for o, offer in enumerate(problem.offers):
        for length in sorted(set(offer.durations)):
            shape = offer.shape(length)
            starts = np.flatnonzero((run[:t_max] >= length) & (np.arange(t_max) + shape.size <= t_max))
            if starts.size:
                cost = offer.cost_eur_per_mwh * QUARTER_H * length
                groups.append(_Group(o, length, starts.astype(np.int64), shape, first, cost))
                first += starts.size
    return groups


def merge_offers(
    offers: tuple[ShedOffer, ...], duty_step: float = 0.05
) -> tuple[tuple[ShedOffer, ...], list[list[int]]]:
    """Merge offers alike (same durations, rebound factor and price, duty within ``duty_step``) into one each.

    The merged offer has the summed capacity, committed delta and occupancy, and the capacity-weighted duty. This
    is the aggregation FMAN does (flexoffer.md 3) and keeps the LP small and well conditioned: a thousand nearly
    identical offers make a highly degenerate LP (hundreds of seconds in simplex) whose optimum a few merged ones
    reach in milliseconds.

    Returns:
        The merged offers and, for each, the indices of its members.
    """
    bins: dict[tuple[tuple[int, ...], float, float, int], list[int]] = {}
    for i, o in enumerate(offers):
        key = (tuple(sorted(set(o.durations))), o.rebound_factor, o.cost_eur_per_mwh, round(o.duty / duty_step))
        bins.setdefault(key, []).append(i)
    merged: list[ShedOffer] = []
    members: list[list[int]] = []
    for idx in bins.values():
        group = [offers[i] for i in idx]
        cap = np.sum([o.cap_mw for o in group], axis=0)
        weight = np.array([float(o.cap_mw.mean()) for o in group]) + 1e-12
        duty = float(np.dot(weight, [o.duty for o in group]) / weight.sum())
        zeros = np.zeros_like(cap)
        merged.append(
            ShedOffer(
                name="+".join(o.name for o in group) if len(group) == 1 else f"{group[0].name}+{len(group) - 1}",
                cap_mw=cap,
                durations=group[0].durations,
                duty=duty,
                rebound_factor=group[0].rebound_factor,
                cost_eur_per_mwh=group[0].cost_eur_per_mwh,
                committed_mw=np.sum([o.committed_mw if o.committed_mw is not None else zeros for o in group], axis=0),
                occupied_mw=np.sum([o.occupied_mw if o.occupied_mw is not None else zeros for o in group], axis=0),
            )
        )
        members.append(idx)
    return tuple(merged), members


def _free_mw(offer: ShedOffer) -> F64:
    """Capacity not held by running blocks [MW]."""
    return offer.cap_mw - (offer.occupied_mw if offer.occupied_mw is not None else 0.0)


def _split(block: Block, merged: ShedOffer, member_ids: list[int], offers: tuple[ShedOffer, ...]) -> list[Block]:
    """A merged block shared among its members in proportion to their free capacity over the block's quarters."""
    if len(member_ids) == 1:
        return [replace(block, offer=member_ids[0])]
    span = slice(block.start, block.start + merged.shape(block.length).size)
    free = np.array([float(np.min(_free_mw(offers[i])[span])) for i in member_ids])
    free = np.maximum(free, 0.0)
    share = free / free.sum() if free.sum() > 0 else np.full(free.size, 1.0 / free.size)
    return [
        Block(i, block.start, block.length, float(block.power_mw * w))
        for i, w in zip(member_ids, share, strict=True)
        if block.power_mw * w > 1e-4
    ]


def solve(problem: PlanProblem, *, merge: bool = True) -> Plan:
    """Choose the blocks that minimise expected penalty plus flexibility cost (see the module docstring).

    Args:
        problem: the inputs.
        merge: merge alike offers first (:func:`merge_offers`); the blocks returned refer to the original offers.

    Raises:
        OptimiserError: inconsistent shapes, weights not summing to 1, or a solver failure.
    """
    if merge and len(problem.offers) > 1:
        merged, members = merge_offers(problem.offers)
        if len(merged) < len(problem.offers):
            plan = solve(replace(problem, offers=merged), merge=False)
            split = [
                b
                for block in plan.blocks
                for b in _split(block, merged[block.offer], members[block.offer], problem.offers)
            ]
            split.sort(key=lambda b: (b.start, b.offer, b.length))
            return replace(plan, blocks=tuple(split))
    k_count, t_max = problem.imbalance_mw.shape
    if problem.weights.shape != (k_count,) or abs(float(problem.weights.sum()) - 1.0) > 1e-6:
        raise OptimiserError("weights must have one value per scenario and sum to 1")
    if problem.rates.short_eur_per_mwh.shape != (t_max,):
        raise OptimiserError("rates must have one value per quarter of the horizon")
    for offer in problem.offers:
        if offer.cap_mw.shape != (t_max,):
            raise OptimiserError(f"offer {offer.name}: cap_mw must have one value per quarter")
    mask, projected = allowed_quarters(problem)
    committed = _committed(problem)
    groups = _block_columns(problem, mask)
    n_x = sum(g.starts.size for g in groups)
    lp = _build(problem, groups, n_x, committed)
    h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no stubs
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise OptimiserError(f"HiGHS: {h.modelStatusToString(status)}")
    x = np.asarray(h.getSolution().col_value[:n_x], dtype=np.float64)
    delta = committed.copy()
    blocks: list[Block] = []
    flex_cost = 0.0
    for g in groups:
        values = x[g.first : g.first + g.starts.size]
        for i in np.flatnonzero(values > 1e-3):
            s = int(g.starts[i])
            delta[s : s + g.shape.size] += values[i] * g.shape
            flex_cost += float(values[i]) * g.cost_per_mw
            blocks.append(Block(g.offer, s, g.length, float(values[i])))
    blocks.sort(key=lambda b: (b.start, b.offer, b.length))
    expected = float(h.getInfo().objective_function_value) - flex_cost
    return Plan(tuple(blocks), delta, mask, projected, expected, flex_cost, h.getRunTime(), n_x)


def _build(problem: PlanProblem, groups: list[_Group], n_x: int, committed: F64) -> highspy.HighsLp:
    """The LP: columns x (blocks), D (delta per quarter), s and l (short, long per scenario and quarter)."""
    k_count, t_max = problem.imbalance_mw.shape
    n_off = len(problem.offers)
    d0, s0 = n_x, n_x + t_max
    l0 = s0 + k_count * t_max
    n_col = l0 + k_count * t_max
    rows, colidx, vals = [], [], []
    # rows 0..T-1: D[u] - sum shape x = committed[u]
    # rows T..T+n_off*T-1: occupancy of offer o at u: sum |covering x| <= cap - occupied
    # rows after: s[k,u] - l[k,u] - D[u] = imbalance[k,u]
    for g in groups:
        z = g.shape.size
        covered = (g.starts[:, None] + np.arange(z)[None, :]).ravel()
        column = np.repeat(g.first + np.arange(g.starts.size), z)
        rows += [covered, t_max + g.offer * t_max + covered]
        colidx += [column, column]
        vals += [np.tile(-g.shape, g.starts.size), np.ones(covered.size)]
    u = np.arange(t_max)
    rows.append(u)
    colidx.append(d0 + u)
    vals.append(np.ones(t_max))
    bal0 = t_max + n_off * t_max
    for k in range(k_count):
        r = bal0 + k * t_max + u
        rows += [r, r, r]
        colidx += [s0 + k * t_max + u, l0 + k * t_max + u, d0 + u]
        vals += [np.ones(t_max), -np.ones(t_max), -np.ones(t_max)]
    n_row = bal0 + k_count * t_max
    indptr, indices, values = _csc(np.concatenate(rows), np.concatenate(colidx), np.concatenate(vals), n_col)
    w = problem.weights
    cost = np.concatenate(
        [
            np.concatenate([np.full(g.starts.size, g.cost_per_mw) for g in groups] or [np.zeros(0)]),
            np.zeros(t_max),
            (w[:, None] * QUARTER_H * problem.rates.short_eur_per_mwh[None, :]).ravel(),
            (w[:, None] * QUARTER_H * problem.rates.long_eur_per_mwh[None, :]).ravel(),
        ]
    )
    inf = highspy.kHighsInf
    lower = np.concatenate([np.zeros(n_x), np.full(t_max, -inf), np.zeros(2 * k_count * t_max)])
    upper = np.full(n_col, inf)
    capacity = np.concatenate(
        [
            np.maximum(
                o.cap_mw - (o.occupied_mw if o.occupied_mw is not None else 0.0),
                0.0,
            )
            for o in problem.offers
        ]
        or [np.zeros(0)]
    )
    row_lower = np.concatenate([committed, np.full(n_off * t_max, -inf), problem.imbalance_mw.ravel()])
    row_upper = np.concatenate([committed, capacity, problem.imbalance_mw.ravel()])
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, n_row
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = indptr
    lp.a_matrix_.index_ = indices
    lp.a_matrix_.value_ = values
    return lp


def _csc(
    rows: NDArray[np.int64], cols: NDArray[np.int64], values: F64, n_col: int
) -> tuple[NDArray[np.int32], NDArray[np.int32], F64]:
    """Column-wise sparse arrays (start, index, value) of the entries ``(rows, cols, values)`` (no duplicates)."""
    order = np.lexsort((rows, cols))
    start = np.searchsorted(cols[order], np.arange(n_col + 1)).astype(np.int32)
    return start, rows[order].astype(np.int32), np.asarray(values[order], dtype=np.float64)
