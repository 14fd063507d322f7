"""Continuous pay-as-bid matching of one buy order against bids (pure; trading contract "Matching").

A matching event is one buy order (direction, max price, remaining energy per slot) against a set of bids. Each
bid has one start for all its contracts (time flexibility: the start is chosen by its first match and then
fixed), slice bounds and a total-energy constraint (TEC). What a bid can give in the order's direction, for a
candidate start ``s``:

* slice ``j`` is **eligible** when it has a price in that direction <= the buyer's max price, is not already
  committed in the other direction, has headroom (``upper - current`` up, ``current - lower`` down), and every
  slot it covers (``s + offset_j`` .. ``+ duration_j - 1``) is wanted by the order and still open;
* energy ``e_j`` [kWh] of the slice lies in ``[0, headroom_j]`` and is spread evenly over its slots;
* **TEC room**: the sum of ``e_j`` is at most the room left before the TEC breaks even if every other
  uncommitted slice moves to its far bound (down: ``current total max - lower``). Counting the eligible slices
  at their current amount is conservative: a schedule built from the result always exists.

Objective: matched energy first, then buyer surplus ``(max price - asked price)`` per kWh (weighted so the
surplus term is at most 0.1 % of the energy term), i.e. the cheapest bids first; ties go to the earlier bid.

Solution: when every bid has a single candidate start, every eligible slice covers one slot and no TEC room
binds, the problem falls apart per slot and a price-sorted greedy fill is exact. Otherwise (a choice of start,
multi-slot slices or a binding TEC, where greedy would lose value) a small MILP is solved with HiGHS: a binary
per candidate start, at most one per bid, bounded to ``max_bids`` bids (cheapest first) and a time limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import highspy
import numpy as np

from goflex.flex.fmar.terms import BidTerms, BuyTerms, Direction

ENERGY_EPS_KWH: Final = 1e-9
"""Energies below this [kWh] count as nothing (float noise of the solver)."""
SURPLUS_WEIGHT: Final = 1e-3
"""Largest share of the objective the buyer's surplus may take against matched energy."""
DEFAULT_MAX_BIDS: Final = 64
DEFAULT_TIME_LIMIT_S: Final = 2.0


@dataclass(frozen=True, slots=True)
class BidView:
    """A bid as the matcher sees it.

    Attributes:
        order_id: the bid's order id.
        terms: its terms.
        location_id: its grid location (``None`` only matches buy orders for any location).
        start_slot: the start fixed by an earlier contract, or ``None``.
        committed: slice index -> (direction, energy [kWh]) already sold.
        priority: arrival rank; the earlier bid wins a tie.
    """

    order_id: str
    terms: BidTerms
    location_id: str | None
    start_slot: int | None = None
    committed: Mapping[int, tuple[Direction, float]] = field(default_factory=dict)
    priority: int = 0

    def current(self, j: int) -> float:
        """The slice's scheduled energy so far [kWh]: reference +- what is committed."""
        s = self.terms.slices[j]
        done = self.committed.get(j)
        return s.reference if done is None else s.reference + done[0].sign * done[1]


@dataclass(frozen=True, slots=True)
class Fill:
    """Energy of one bid slice sold to the buy order.

    Attributes:
        bid_id: the bid's order id.
        start_slot: the bid's start [slot index].
        slice_index: the profile slice.
        energy_kwh: the deviation for the whole slice [kWh], spread evenly over its ``duration`` slots.
        price: asked price [EUR/kWh] (pay-as-bid).
    """

    bid_id: str
    start_slot: int
    slice_index: int
    energy_kwh: float
    price: float


@dataclass(frozen=True, slots=True)
class _Eligible:
    index: int
    cap: float
    price: float
    slots: tuple[int, ...]
    committed: bool
    current: float
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A bid at one start. TEC rows (sign = +1 up, -1 down; z_j = 1 when an uncommitted slice is sold):

    * min total <= U: ``sign * sum e + sum_unc (cur - lower) z <= rhs_min``;
    * max total >= L: ``sign * sum e + sum_unc (cur - upper) z >= rhs_max``.
    """

    bid: int
    start: int
    slices: tuple[_Eligible, ...]
    sign: float
    rhs_min: float
    rhs_max: float

    def box_is_safe(self) -> bool:
        """Whether every ``e`` in its box keeps the TEC reachable even with every slice counted as sold."""
        caps = sum(e.cap for e in self.slices)
        unc = [e for e in self.slices if not e.committed]
        low_min = sum(e.current - e.lower for e in unc)
        low_max = sum(e.current - e.upper for e in unc)
        worst_min = low_min + max(0.0, self.sign * caps)
        worst_max = low_max + min(0.0, self.sign * caps)
        return worst_min <= self.rhs_min and worst_max >= self.rhs_max

    @property
    def room(self) -> float:
        """Energy the far TEC side allows with every eligible slice sold [kWh]."""
        unc = [e for e in self.slices if not e.committed]
        if self.sign > 0:
            return self.rhs_min - sum(e.current - e.lower for e in unc)
        return sum(e.current - e.upper for e in unc) - self.rhs_max


def location_matches(order_location: str | None, bid_location: str | None) -> bool:
    """A buy order for any location takes every bid; one for a location only bids there."""
    return order_location is None or order_location == bid_location


def _candidate(bid: BidView, bid_index: int, start: int, direction: Direction, eligible: list[_Eligible]) -> _Candidate:
    terms = bid.terms
    chosen = {e.index for e in eligible}
    base_min = base_max = 0.0
    for j, s in enumerate(terms.slices):
        if j in chosen:
            continue
        if j in bid.committed:
            base_min += bid.current(j)
            base_max += bid.current(j)
        else:
            base_min += s.lower
            base_max += s.upper
    committed_cur = sum(e.current for e in eligible if e.committed)
    rhs_min = terms.total_upper - base_min - committed_cur - sum(e.lower for e in eligible if not e.committed)
    rhs_max = terms.total_lower - base_max - committed_cur - sum(e.upper for e in eligible if not e.committed)
    return _Candidate(bid_index, start, tuple(eligible), direction.sign, rhs_min, rhs_max)


def _candidates(
    order: BuyTerms, remaining: Mapping[int, float], bid: BidView, bid_index: int, first_slot: int
) -> list[_Candidate]:
    terms = bid.terms
    if not location_matches(order.location_id, bid.location_id):
        return []
    starts = (
        [bid.start_slot] if bid.start_slot is not None else range(max(terms.est_slot, first_slot), terms.lst_slot + 1)
    )
    out = []
    for start in starts:
        eligible = []
        for j, s in enumerate(terms.slices):
            price = s.price(order.direction)
            done = bid.committed.get(j)
            if price is None or price > order.max_price or (done is not None and done[0] is not order.direction):
                continue
            slots = tuple(range(start + s.offset, start + s.offset + s.duration))
            if slots[0] < first_slot or any(remaining.get(t, 0.0) <= ENERGY_EPS_KWH for t in slots):
                continue
            cur = bid.current(j)
            cap = s.upper - cur if order.direction is Direction.UP else cur - s.lower
            if cap > ENERGY_EPS_KWH:
                eligible.append(_Eligible(j, cap, price, slots, done is not None, cur, s.lower, s.upper))
        if not eligible:
            continue
        candidate = _candidate(bid, bid_index, start, order.direction, eligible)
        if candidate.room > ENERGY_EPS_KWH:
            out.append(candidate)
    return out


def has_headroom(order: BuyTerms, remaining: Mapping[int, float], bid: BidView) -> bool:
    """Whether ``bid`` could still sell anything to ``order`` in a slot of ``remaining`` (gate ignored)."""
    return bool(_candidates(order, remaining, bid, 0, -(2**62)))


def match(
    order: BuyTerms,
    remaining: Mapping[int, float],
    bids: Sequence[BidView],
    *,
    first_slot: int,
    max_bids: int = DEFAULT_MAX_BIDS,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> list[Fill]:
    """Match one buy order against bids (see the module docstring).

    Args:
        order: the buy order's terms.
        remaining: slot -> energy still wanted [kWh].
        bids: the bids to consider.
        first_slot: the first slot open for trading (gate closure).
        max_bids: most bids in one optimisation (the cheapest ones are kept).
        time_limit_s: the MILP's time limit [s]; the best solution found by then is used.

    Returns:
        The fills, or none when nothing matches (or ``allowPartial`` is false and the order cannot be filled
        whole). Per slot, the fills add up to at most ``remaining`` (up to float noise).
    """
    candidates: list[_Candidate] = []
    for i, bid in enumerate(bids):
        candidates += _candidates(order, remaining, bid, i, first_slot)
    if not candidates:
        return []
    cheapest: dict[int, float] = {}
    for c in candidates:
        cheapest[c.bid] = min(cheapest.get(c.bid, float("inf")), *(e.price for e in c.slices))
    if len(cheapest) > max_bids:
        keep = set(sorted(cheapest, key=lambda i: (cheapest[i], bids[i].priority))[:max_bids])
        candidates = [c for c in candidates if c.bid in keep]
    wanted = {t: r for t, r in remaining.items() if r > ENERGY_EPS_KWH}
    if _greedy_is_exact(candidates):
        fills = _greedy(order, wanted, bids, candidates)
    else:
        fills = _milp(order, wanted, bids, candidates, time_limit_s)
    if not order.allow_partial and not _fills_all(wanted, fills, bids):
        return []
    return fills


def _greedy_is_exact(candidates: Sequence[_Candidate]) -> bool:
    bids = [c.bid for c in candidates]
    if len(bids) != len(set(bids)):
        return False
    return all(all(len(e.slots) == 1 for e in c.slices) and c.box_is_safe() for c in candidates)


def _greedy(
    order: BuyTerms, wanted: Mapping[int, float], bids: Sequence[BidView], candidates: Sequence[_Candidate]
) -> list[Fill]:
    per_slot: dict[int, list[tuple[float, int, _Candidate, _Eligible]]] = {}
    for c in candidates:
        for e in c.slices:
            per_slot.setdefault(e.slots[0], []).append((e.price, bids[c.bid].priority, c, e))
    fills = []
    for slot, offers in per_slot.items():
        left = wanted.get(slot, 0.0)
        for price, _, c, e in sorted(offers, key=lambda o: (o[0], o[1])):
            if left <= ENERGY_EPS_KWH:
                break
            energy = min(left, e.cap)
            left -= energy
            fills.append(Fill(bids[c.bid].order_id, c.start, e.index, energy, price))
    return fills


def _milp(
    order: BuyTerms,
    wanted: Mapping[int, float],
    bids: Sequence[BidView],
    candidates: Sequence[_Candidate],
    time_limit_s: float,
) -> list[Fill]:
    h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no stubs
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", time_limit_s)
    h.setOptionValue("primal_feasibility_tolerance", 1e-10)
    h.setOptionValue("mip_feasibility_tolerance", 1e-10)
    e_cols = _add_model(h, order, wanted, bids, candidates)
    h.run()
    if h.getInfo().primal_solution_status != 2:  # no feasible solution (kSolutionStatusFeasible = 2)
        return []
    values = list(h.getSolution().col_value)
    fills = []
    for c, cols in zip(candidates, e_cols, strict=True):
        for e, col in zip(c.slices, cols, strict=True):
            energy = min(e.cap, values[col])
            if energy > ENERGY_EPS_KWH:
                fills.append(Fill(bids[c.bid].order_id, c.start, e.index, energy, e.price))
    return _one_start_per_bid(fills)


def _add_model(
    h: highspy.Highs,
    order: BuyTerms,
    wanted: Mapping[int, float],
    bids: Sequence[BidView],
    candidates: Sequence[_Candidate],
) -> list[list[int]]:
    """Columns: a binary ``y`` per candidate start of an unmatched bid, ``e_j`` per eligible slice, and a binary
    ``z_j`` per eligible slice not yet sold (sold slices are fixed; unsold ones stay free to meet the TEC)."""
    none_i, none_f = np.array([], dtype=np.int32), np.array([], dtype=np.float64)
    max_surplus = max(order.max_price - e.price for c in candidates for e in c.slices)
    weight = SURPLUS_WEIGHT / max(max_surplus, 1e-9)
    inf = highspy.kHighsInf
    ncol = 0
    e_cols: list[list[int]] = []
    choices: dict[int, list[int]] = {}
    per_slot: dict[int, tuple[list[int], list[float]]] = {}
    for c in candidates:
        y = None
        if bids[c.bid].start_slot is None:
            h.addCol(0.0, 0.0, 1.0, 0, none_i, none_f)
            h.changeColIntegrality(ncol, highspy.HighsVarType.kInteger)
            y, ncol = ncol, ncol + 1
            choices.setdefault(c.bid, []).append(y)
        cols = list(range(ncol, ncol + len(c.slices)))
        for e in c.slices:
            h.addCol(-(1.0 + weight * (order.max_price - e.price)), 0.0, e.cap, 0, none_i, none_f)
            for t in e.slots:
                idx, val = per_slot.setdefault(t, ([], []))
                idx.append(ncol)
                val.append(1.0 / len(e.slots))
            ncol += 1
        e_cols.append(cols)
        min_idx, min_val = list(cols), [c.sign] * len(cols)
        max_idx, max_val = list(cols), [c.sign] * len(cols)
        for e, col in zip(c.slices, cols, strict=True):
            if e.committed:
                if y is not None:  # cannot happen (a committed bid has a start); kept for safety
                    h.addRow(-inf, 0.0, 2, np.array([col, y], dtype=np.int32), np.array([1.0, -e.cap]))
                continue
            h.addCol(0.0, 0.0, 1.0, 0, none_i, none_f)  # z_j: the slice is sold
            h.changeColIntegrality(ncol, highspy.HighsVarType.kInteger)
            z, ncol = ncol, ncol + 1
            h.addRow(-inf, 0.0, 2, np.array([col, z], dtype=np.int32), np.array([1.0, -e.cap]))
            if y is not None:
                h.addRow(-inf, 0.0, 2, np.array([z, y], dtype=np.int32), np.array([1.0, -1.0]))
            min_idx.append(z)
            min_val.append(e.current - e.lower)
            max_idx.append(z)
            max_val.append(e.current - e.upper)
        h.addRow(-inf, c.rhs_min, len(min_idx), np.array(min_idx, dtype=np.int32), np.array(min_val))
        h.addRow(c.rhs_max, inf, len(max_idx), np.array(max_idx, dtype=np.int32), np.array(max_val))
    for ys in choices.values():
        if len(ys) > 1:
            h.addRow(-inf, 1.0, len(ys), np.array(ys, dtype=np.int32), np.ones(len(ys)))
    for t, (idx, val) in per_slot.items():
        lower = wanted[t] if not order.allow_partial else -inf
        h.addRow(lower, wanted[t], len(idx), np.array(idx, dtype=np.int32), np.array(val))
    return e_cols


def _one_start_per_bid(fills: list[Fill]) -> list[Fill]:
    # The binaries enforce it; solver rounding could leave crumbs on a second start, which are dropped.
    totals: dict[tuple[str, int], float] = {}
    for f in fills:
        totals[f.bid_id, f.start_slot] = totals.get((f.bid_id, f.start_slot), 0.0) + f.energy_kwh
    best: dict[str, tuple[float, int]] = {}
    for (bid_id, start), total in totals.items():
        if total > best.get(bid_id, (-1.0, 0))[0]:
            best[bid_id] = (total, start)
    return [f for f in fills if best[f.bid_id][1] == f.start_slot]


def _fills_all(wanted: Mapping[int, float], fills: Sequence[Fill], bids: Sequence[BidView]) -> bool:
    terms = {b.order_id: b.terms for b in bids}
    got: dict[int, float] = {}
    for f in fills:
        s = terms[f.bid_id].slices[f.slice_index]
        for t in range(f.start_slot + s.offset, f.start_slot + s.offset + s.duration):
            got[t] = got.get(t, 0.0) + f.energy_kwh / s.duration
    return all(got.get(t, 0.0) >= r - 1e-6 for t, r in wanted.items())
