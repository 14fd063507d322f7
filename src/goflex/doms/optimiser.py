"""Rolling-horizon choice of load shedding and recovery against the imbalance penalty, one HiGHS LP (seed 3.3.2).

Seed 3.3.2: "Try to minimize the penalty caused by the error over a given horizon with load displacement. This
requires the imbalance energy price to be optimized economically as well as a simulation of load displacement."

The fleet is a store of withheld heat (one :class:`StoreOffer` per group of alike devices on relays). A DSO
controls *when* it opens relays and *when* it closes them again, so shedding and recovery are two decisions, not
one fixed block shape. Over ``T`` quarter hours (quarter 0 may be the rest of the running quarter), per offer
(:class:`StoreOffer`; a :class:`ShedOffer` of block lengths is converted):

* ``b[t]`` [MW]: baseline power held blocked in quarter ``t`` (``0 <= b <= shed_max``); the load drops by ``b``.
* ``H[t]`` [MWh]: heat deficit held by the blocked devices at the end of ``t``:
  ``H[t] = H[t-1] + d[t] b[t] - u[t]`` with ``u[t] >= 0`` the deficit released (relays closed) in ``t``.
  Comfort: ``H[t] <= hold_h x b[t]``: a blocked device holds at most ``hold_h`` hours of its baseline power
  before its comfort limit (with margins), so the deficit needs devices kept blocked, and no blocked power
  (a dead-band quarter, a stop) means everything is released.
* ``R[t]`` [MWh]: deficit of released devices not made up yet: ``R[t] = R[t-1] + phi u[t] - d[t] r[t]``
  (``phi`` = ``rebound_factor``: heat pumps draw a little more than they withheld). Released devices heat at
  full power until they have caught up (physics-and-grid.md 3), so recovery is *forced*:
  ``d[t] r[t] >= k (R[t-1] + phi u[t])`` with ``k`` the share of a quarter's spare power in the pending deficit.
  The load rises by the recovery power ``r[t]``.
* Whatever is still withheld at the end of the horizon is charged at the highest short rate of the horizon: it
  must be recovered some time, and the LP may not count on a long quarter it cannot see.

The natural imbalance is uncertain: ``K`` scenarios (forecast quantiles) with weights. Per scenario and quarter,
``short - long = imbalance + f[t] (r - b)`` (``f`` = share of the quarter still to come) with the penalty rates of
:mod:`goflex.doms.prices`; the objective is the expected penalty plus the flexibility's price per MWh shed.
Shedding in a short quarter and recovering in a long one (or in any cheaper one) is what earns.

Dead band (seed 3.3.2, "+/-1MW dead zone" between TG8000 and the 65 kV metering): no shed in a quarter whose
projected imbalance (median scenario plus the recovery already due) lies inside the band; the caller may mark
more quarters as not allowed (data stopped). Recovery is not an activation: releasing relays is always allowed
(comfort comes first) and is where the deficit goes.

Comfort is not a cost here: it is a hard limit, through ``hold_h`` (from the devices' states, with margins,
:mod:`goflex.doms.fleet_sim`) and the FOA's rule that a device whose comfort is at stake is released.
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
_VARS = 5  # b, u, r, H, R per offer and quarter
HOLD_BIN_RATIO = 1.4
SHARE_BIN = 0.2
IPM_COLUMNS = 15_000
"""LPs larger than this are solved by the interior point method (several times faster than simplex there)."""


class OptimiserError(GoflexError):
    """The plan could not be computed (inconsistent inputs, or the solver failed); the caller must not act."""


@dataclass(frozen=True)
class StoreOffer:
    """A group of alike devices on relays, as a store of withheld heat over the horizon's ``T`` quarters.

    Attributes:
        name: label (the device group).
        shed_max_mw: baseline power that may be held blocked per quarter [MW] (>= 0), shape ``(T,)``.
        hold_h: deficit a blocked device may hold per unit of its baseline power [h] (> 0): its comfort headroom.
        recovery_share: share of a newly released deficit made up per quarter [-] in (0, 1] (spare power).
        held_mwh: deficit held by the devices blocked now [MWh] (>= 0).
        recovering_mwh: deficit of released devices still to be made up [MWh] (>= 0).
        recovering_share: share of ``recovering_mwh`` made up in the coming quarter [-] in (0, 1] (default
            ``recovery_share``).
        rebound_factor: energy drawn in recovery per MWh withheld [-] (>= 1 for heat pumps, about 1 resistive).
        cost_eur_per_mwh: price paid per MWh shed [EUR/MWh] (>= 0).
        blocked_mw: baseline power blocked now [MW] (>= 0).
        effect_mw: the group's measured effect on the load over the last 5 minutes [MW] (blocked devices'
            expected power withheld, negative, plus released devices' power above their expected, positive);
            None when nobody measures it (the controller then takes its order as the effect).
    """

    name: str
    shed_max_mw: F64
    hold_h: float
    recovery_share: float = 1.0
    held_mwh: float = 0.0
    recovering_mwh: float = 0.0
    recovering_share: float | None = None
    rebound_factor: float = 1.0
    cost_eur_per_mwh: float = 0.5
    blocked_mw: float = 0.0
    effect_mw: float | None = None

    def __post_init__(self) -> None:
        if not self.hold_h > 0 or not 0.0 < self.recovery_share <= 1.0:
            raise OptimiserError(f"offer {self.name}: need hold_h > 0 and 0 < recovery_share <= 1")
        if self.recovering_share is not None and not 0.0 < self.recovering_share <= 1.0:
            raise OptimiserError(f"offer {self.name}: need 0 < recovering_share <= 1")
        if self.rebound_factor <= 0 or self.cost_eur_per_mwh < 0 or self.held_mwh < 0 or self.recovering_mwh < 0:
            raise OptimiserError(f"offer {self.name}: need rebound_factor > 0 and cost, held, recovering >= 0")
        if np.any(self.shed_max_mw < 0) or self.blocked_mw < 0:
            raise OptimiserError(f"offer {self.name}: shed_max_mw and blocked_mw must be >= 0")

    @property
    def k_now(self) -> float:
        """Share of the current recovering deficit made up in the coming quarter."""
        return self.recovery_share if self.recovering_share is None else self.recovering_share


@dataclass(frozen=True)
class ShedOffer:
    """An interruption offer described by block lengths (the former model; still what a market bid says).

    Converted for the LP by :meth:`to_store`: a block of at most ``max(durations)`` quarters means the devices
    hold that long (``hold_h``), and their spare power ``(1 - duty) / duty`` per MW blocked sets how fast they
    recover.

    Attributes:
        name: label.
        cap_mw: baseline power offered per quarter [MW] (>= 0), shape ``(T,)``.
        durations: allowed block lengths [quarters] (>= 1).
        duty: baseline over installed power [-] in (0, 1).
        rebound_factor: recovery energy per energy shed [-] (> 0).
        cost_eur_per_mwh: price per MWh shed [EUR/MWh] (>= 0).
        committed_mw: unused (kept for callers of the former model).
        occupied_mw: capacity already held [MW], shape ``(T,)`` (subtracted from ``cap_mw``).
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

    def to_store(self) -> StoreOffer:
        """The same flexibility as a store (see the class docstring)."""
        hold_h = max(self.durations) * QUARTER_H
        spare = (1.0 - self.duty) / self.duty
        free = self.cap_mw - (self.occupied_mw if self.occupied_mw is not None else 0.0)
        return StoreOffer(
            name=self.name,
            shed_max_mw=np.maximum(free, 0.0),
            hold_h=hold_h,
            recovery_share=min(1.0, QUARTER_H * spare / max(QUARTER_H, 0.5 * hold_h)),
            rebound_factor=self.rebound_factor,
            cost_eur_per_mwh=self.cost_eur_per_mwh,
        )


Offer = StoreOffer | ShedOffer
"""What the optimiser takes: stores, or block offers it converts."""


def as_store(offer: Offer) -> StoreOffer:
    """``offer`` as a :class:`StoreOffer`."""
    return offer if isinstance(offer, StoreOffer) else offer.to_store()


@dataclass(frozen=True)
class PlanProblem:
    """One optimisation over ``T`` quarters.

    Attributes:
        imbalance_mw: natural imbalance scenarios [MW], quarter means, shape ``(K, T)`` (positive = short); for
            a quarter already under way, its mean including what DOMS did in its elapsed part.
        weights: scenario probabilities, shape ``(K,)`` (sum 1).
        rates: penalty rates of the ``T`` quarters.
        offers: the flexibility.
        allowed: quarters where shedding may run, shape ``(T,)`` (False where data is stopped); the dead band
            is applied on top.
        deadband_mw: half-width of the dead band [MW].
        first_fraction: share of quarter 0 still to come (1 at a quarter's start, 2/3 or 1/3 within it).
    """

    imbalance_mw: F64
    weights: F64
    rates: PenaltyRates
    offers: tuple[Offer, ...]
    allowed: NDArray[np.bool_] | None = None
    deadband_mw: float = DEADBAND_MW
    first_fraction: float = 1.0

    @property
    def horizon(self) -> int:
        """T, the number of quarters."""
        return int(self.imbalance_mw.shape[1])

    @property
    def fractions(self) -> F64:
        """Share of each quarter the plan controls."""
        f = np.ones(self.horizon)
        f[0] = self.first_fraction
        return f


@dataclass(frozen=True)
class Plan:
    """The optimiser's answer.

    Attributes:
        shed_mw: baseline power held blocked per offer and quarter [MW], shape ``(O, T)``.
        recovery_mw: recovery power per offer and quarter [MW], shape ``(O, T)``.
        held_mwh: deficit held by blocked devices at the end of each quarter [MWh], shape ``(O, T)``.
        delta_mw: expected change of the quarter-mean load (recovery minus shed, over the controlled share of
            each quarter) [MW], shape ``(T,)``.
        allowed: quarters where shedding was allowed (after the dead band), shape ``(T,)``.
        projected_mw: median scenario plus the recovery already due [MW] (what the dead band was judged on).
        expected_penalty_eur: expected penalty with the plan [EUR].
        flex_cost_eur: price of the planned shed energy [EUR].
        solve_s: solver time [s].
        columns: LP columns.
    """

    shed_mw: F64
    recovery_mw: F64
    held_mwh: F64
    delta_mw: F64
    allowed: NDArray[np.bool_]
    projected_mw: F64
    expected_penalty_eur: float
    flex_cost_eur: float
    solve_s: float = 0.0
    columns: int = field(default=0)


def committed_recovery_mw(problem: PlanProblem) -> F64:
    """Quarter-mean recovery power already due from the deficit released before the plan [MW], shape ``(T,)``."""
    out = np.zeros(problem.horizon)
    for o in map(as_store, problem.offers):
        if o.recovering_mwh > 0:
            left = o.recovering_mwh
            for t in range(problem.horizon):
                k = o.k_now if t == 0 else o.recovery_share
                out[t] += k * left / QUARTER_H
                left *= 1.0 - k
    return out


def allowed_quarters(problem: PlanProblem) -> tuple[NDArray[np.bool_], F64]:
    """Quarters where shedding may run: outside the dead band of the projected imbalance, and allowed by the caller.

    Returns:
        The mask and the projected imbalance (median scenario plus the recovery already due) [MW].
    """
    median = np.median(problem.imbalance_mw, axis=0)
    projected = np.asarray(median + committed_recovery_mw(problem), dtype=np.float64)
    mask = np.abs(projected) > problem.deadband_mw
    if problem.allowed is not None:
        mask &= problem.allowed
    return mask, projected


def merge_offers(offers: tuple[StoreOffer, ...]) -> tuple[tuple[StoreOffer, ...], list[list[int]]]:
    """Merge alike offers (same price, headroom and recovery share in the same bins) into one each.

    This is the aggregation FMAN does (flexoffer.md 3): it keeps the LP small and well conditioned (a thousand
    nearly identical offers make a highly degenerate LP). Bins: ``hold_h`` on a geometric grid of ratio
    :data:`HOLD_BIN_RATIO`, recovery shares in steps of :data:`SHARE_BIN`; the merged offer takes
    capacity-weighted parameters (deficit-weighted for the share of the deficit recovering now).

    Returns:
        The merged offers and, for each, the indices of its members.
    """
    bins: dict[tuple[float, int, int], list[int]] = {}
    for i, o in enumerate(offers):
        key = (
            o.cost_eur_per_mwh,
            round(math.log(o.hold_h) / math.log(HOLD_BIN_RATIO)),
            round(o.recovery_share / SHARE_BIN),
        )
        bins.setdefault(key, []).append(i)
    merged: list[StoreOffer] = []
    members: list[list[int]] = []
    for idx in bins.values():
        group = [offers[i] for i in idx]
        if len(group) == 1:
            merged.append(group[0])
            members.append(idx)
            continue
        weight = np.array([float(o.shed_max_mw.mean()) for o in group]) + 1e-12
        rec_w = np.array([o.recovering_mwh for o in group]) + 1e-12

        def mean(values: list[float], w: F64 = weight) -> float:
            return float(np.dot(w, values) / w.sum())

        merged.append(
            StoreOffer(
                name=f"{group[0].name}+{len(group) - 1}",
                shed_max_mw=np.sum([o.shed_max_mw for o in group], axis=0),
                hold_h=mean([o.hold_h for o in group]),
                recovery_share=mean([o.recovery_share for o in group]),
                held_mwh=sum(o.held_mwh for o in group),
                recovering_mwh=sum(o.recovering_mwh for o in group),
                recovering_share=mean([o.k_now for o in group], rec_w),
                rebound_factor=mean([o.rebound_factor for o in group]),
                cost_eur_per_mwh=group[0].cost_eur_per_mwh,
                blocked_mw=sum(o.blocked_mw for o in group),
                effect_mw=None,
            )
        )
        members.append(idx)
    return tuple(merged), members


def _split(
    plan: Plan, merged: tuple[StoreOffer, ...], members: list[list[int]], offers: tuple[StoreOffer, ...]
) -> Plan:
    """A merged plan shared among the members: shed by their sheddable power, recovery by their deficit."""
    t_max = plan.shed_mw.shape[1]
    shed = np.zeros((len(offers), t_max))
    recovery = np.zeros((len(offers), t_max))
    held = np.zeros((len(offers), t_max))
    for m, idx in enumerate(members):
        cap = np.array([offers[i].shed_max_mw for i in idx])
        share = cap / np.maximum(cap.sum(axis=0), 1e-12)
        deficit = np.array([offers[i].held_mwh + offers[i].recovering_mwh + 1e-9 for i in idx])
        shed[idx] = plan.shed_mw[m][None, :] * share
        held[idx] = plan.held_mwh[m][None, :] * share
        recovery[idx] = plan.recovery_mw[m][None, :] * (deficit / deficit.sum())[:, None]
    del merged
    return replace(plan, shed_mw=shed, recovery_mw=recovery, held_mwh=held)


def solve(problem: PlanProblem, *, merge: bool = True) -> Plan:
    """Choose shed and recovery that minimise expected penalty plus flexibility cost (see the module docstring).

    Args:
        problem: the inputs.
        merge: merge alike offers first (:func:`merge_offers`); the plan refers to the original offers.

    Raises:
        OptimiserError: inconsistent shapes, weights not summing to 1, or a solver failure.
    """
    stores = tuple(as_store(o) for o in problem.offers)
    problem = replace(problem, offers=stores)
    _check(problem)
    if merge and len(stores) > 1:
        merged, members = merge_offers(stores)
        if len(merged) < len(stores):
            return _split(solve(replace(problem, offers=merged), merge=False), merged, members, stores)
    mask, projected = allowed_quarters(problem)
    t_max = problem.horizon
    n_off = len(problem.offers)
    lp = _build(problem, mask)
    h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no stubs
    h.setOptionValue("output_flag", False)
    if lp.num_col_ > IPM_COLUMNS:
        h.setOptionValue("solver", "ipm")
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise OptimiserError(f"HiGHS: {h.modelStatusToString(status)}")
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    per = x[: n_off * _VARS * t_max].reshape(n_off, _VARS, t_max)
    shed, recovery = np.maximum(per[:, 0, :], 0.0), np.maximum(per[:, 2, :], 0.0)
    f = problem.fractions
    delta = f * (recovery.sum(axis=0) - shed.sum(axis=0)) if n_off else np.zeros(t_max)
    d = QUARTER_H * f
    flex_cost = float(sum(o.cost_eur_per_mwh * float(np.dot(shed[i], d)) for i, o in enumerate(stores)))
    expected = float(h.getInfo().objective_function_value) - flex_cost
    held = np.maximum(per[:, 3, :], 0.0)
    return Plan(shed, recovery, held, delta, mask, projected, expected, flex_cost, h.getRunTime(), lp.num_col_)


def _check(problem: PlanProblem) -> None:
    k_count, t_max = problem.imbalance_mw.shape
    if problem.weights.shape != (k_count,) or abs(float(problem.weights.sum()) - 1.0) > 1e-6:
        raise OptimiserError("weights must have one value per scenario and sum to 1")
    if problem.rates.short_eur_per_mwh.shape != (t_max,):
        raise OptimiserError("rates must have one value per quarter of the horizon")
    if not 0.0 < problem.first_fraction <= 1.0:
        raise OptimiserError("first_fraction must be in (0, 1]")
    if not np.all(np.isfinite(problem.imbalance_mw)):
        raise OptimiserError("imbalance_mw must be finite")
    for offer in map(as_store, problem.offers):
        if offer.shed_max_mw.shape != (t_max,):
            raise OptimiserError(f"offer {offer.name}: shed_max_mw must have one value per quarter")


@dataclass
class _Rows:
    """The LP's rows, built ``T`` at a time (one per quarter), as sparse entries."""

    t_max: int
    rows: list[NDArray[np.int64]] = field(default_factory=list)
    cols: list[NDArray[np.int64]] = field(default_factory=list)
    vals: list[F64] = field(default_factory=list)
    lower: list[F64] = field(default_factory=list)
    upper: list[F64] = field(default_factory=list)
    count: int = 0

    def add(self, terms: list[tuple[NDArray[np.int64], F64 | float, bool]], lower: F64, upper: F64) -> None:
        """``T`` rows ``lower[t] <= sum coef x[col] <= upper[t]``; a lagged term puts ``col[t - 1]`` in row ``t``."""
        r = self.count + np.arange(self.t_max)
        for cols, coef, lagged in terms:
            c = np.broadcast_to(np.asarray(coef, dtype=np.float64), (self.t_max,))
            rr, cc, vv = (r[1:], cols[:-1], c[1:]) if lagged else (r, cols, c)
            self.rows.append(rr)
            self.cols.append(cc)
            self.vals.append(vv.copy())
        self.lower.append(lower)
        self.upper.append(upper)
        self.count += self.t_max


def _first(value: float, t_max: int) -> F64:
    """``value`` in quarter 0, zero after."""
    out = np.zeros(t_max)
    out[0] = value
    return out


def _build(problem: PlanProblem, mask: NDArray[np.bool_]) -> highspy.HighsLp:
    """The LP. Columns: per offer ``b, u, r, H, R`` (T each), then short and long per scenario and quarter."""
    k_count, t_max = problem.imbalance_mw.shape
    offers = tuple(as_store(o) for o in problem.offers)
    f = problem.fractions
    d = QUARTER_H * f
    u = np.arange(t_max)
    s0 = len(offers) * _VARS * t_max
    l0 = s0 + k_count * t_max
    n_col = l0 + k_count * t_max
    inf = highspy.kHighsInf
    col_hi = np.full(n_col, inf)
    cost = np.zeros(n_col)
    terminal = float(np.max(problem.rates.short_eur_per_mwh)) + 1.0
    lp_rows = _Rows(t_max)
    zero, free = np.zeros(t_max), np.full(t_max, inf)
    for o, offer in enumerate(offers):
        b, rel, rec, held, pend = ((o * _VARS + j) * t_max + u for j in range(_VARS))
        k_new = np.minimum(1.0, offer.recovery_share * f)
        phi = offer.rebound_factor
        # held: H[t] - H[t-1] - d b[t] + u[t] = held0 (t = 0) / 0
        held0 = _first(offer.held_mwh, t_max)
        lp_rows.add([(held, 1.0, False), (held, -1.0, True), (b, -d, False), (rel, 1.0, False)], held0, held0)
        # pending: R[t] - R[t-1] - phi u[t] + d r[t] = rec0 (t = 0) / 0
        rec0 = _first(offer.recovering_mwh, t_max)
        lp_rows.add([(pend, 1.0, False), (pend, -1.0, True), (rel, -phi, False), (rec, d, False)], rec0, rec0)
        # forced recovery: d r[t] - k phi u[t] - k R[t-1] >= k0 rec0 (t = 0) / 0
        due0 = _first(min(1.0, offer.k_now * f[0]) * offer.recovering_mwh, t_max)
        lp_rows.add([(rec, d, False), (rel, -k_new * phi, False), (pend, -k_new, True)], due0, free)
        # comfort: H[t] - hold_h b[t] <= 0
        lp_rows.add([(held, 1.0, False), (b, -offer.hold_h, False)], -free, zero)
        col_hi[b] = np.where(mask, offer.shed_max_mw, 0.0)
        cost[b] = offer.cost_eur_per_mwh * d
        cost[rel] = 1e-6  # tie-break: release no earlier than needed
        cost[held[-1]] = phi * terminal
        cost[pend[-1]] = terminal
    # balance: s[k,t] - l[k,t] + f sum b - f sum r = imbalance[k,t]
    for k in range(k_count):
        s, lng = s0 + k * t_max + u, l0 + k * t_max + u
        terms: list[tuple[NDArray[np.int64], F64 | float, bool]] = [(s, 1.0, False), (lng, -1.0, False)]
        for o in range(len(offers)):
            terms += [((o * _VARS + 0) * t_max + u, f, False), ((o * _VARS + 2) * t_max + u, -f, False)]
        imbalance = problem.imbalance_mw[k].astype(np.float64)
        lp_rows.add(terms, imbalance, imbalance)
        cost[s] = problem.weights[k] * QUARTER_H * problem.rates.short_eur_per_mwh
        cost[lng] = problem.weights[k] * QUARTER_H * problem.rates.long_eur_per_mwh
    r = lp_rows
    start, index, value = _csc(np.concatenate(r.rows), np.concatenate(r.cols), np.concatenate(r.vals), n_col)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, r.count
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, np.zeros(n_col), col_hi
    lp.row_lower_, lp.row_upper_ = np.concatenate(r.lower), np.concatenate(r.upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    return lp


def _csc(
    rows: NDArray[np.int64], cols: NDArray[np.int64], values: F64, n_col: int
) -> tuple[NDArray[np.int32], NDArray[np.int32], F64]:
    """Column-wise sparse arrays (start, index, value) of the entries ``(rows, cols, values)`` (no duplicates)."""
    order = np.lexsort((rows, cols))
    start = np.searchsorted(cols[order], np.arange(n_col + 1)).astype(np.int32)
    return start, rows[order].astype(np.int32), np.asarray(values[order], dtype=np.float64)
