"""Flexibility measures of a FlexOffer and of a set of offers (pure).

Definitions follow Valsomatzis, Hose, Pedersen and Siksnys, "Measuring and comparing energy flexibilities"
(EDBT/ICDT workshops 2015) and reference flexoffer.md section 5. Notation for an offer ``f`` with slices
``i = 1..n``, slice energy bounds ``[l_i, u_i]`` [kWh], earliest start EST and latest start LST:

* time flexibility ``tf(f) = LST - EST`` [intervals] (or [s]);
* energy flexibility ``ef(f) = sum_i (u_i - l_i)`` [kWh], the literature's definition, which ignores the
  total-energy constraint (TEC). With a TEC ``[T_lo, T_hi]`` the reachable totals are the intersection
  ``[max(sum l_i, T_lo), min(sum u_i, T_hi)]``; its width is :func:`effective_energy_flexibility`;
* product flexibility ``tf * ef`` [intervals * kWh];
* vector flexibility ``(tf, ef)`` and its Euclidean norm ``sqrt(tf^2 + ef^2)`` (unit-mixed, as in the paper);
* assignment flexibility: the number of distinct valid assignments (start, amounts) with amounts on a grid;
* absolute and relative area flexibility: see :func:`absolute_area_flexibility`.

Area measures treat a slice of duration ``d`` and energy ``a`` as ``a / d`` kWh in each of its ``d`` intervals,
so a profile's area [kWh * interval] equals its energy [kWh]; they need fixed slice durations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from goflex.flex.errors import FlexOfferError
from goflex.flex.model import EnergyConstraint, FlexOffer

GRID_TOLERANCE = 1e-9
"""Relative slack when placing float bounds on the discretisation grid (0.3 / 0.1 counts as 3 steps)."""

DEFAULT_MAX_STEPS = 1_000_000
"""Largest number of grid steps of the total energy the assignment count will work through."""


class UndefinedMeasure(FlexOfferError):  # noqa: N818 - named for what is wrong (style.md 5)
    """The measure is not defined for this offer (variable durations, zero reference area, bad step)."""


def _bounds(offer: FlexOffer) -> list[EnergyConstraint]:
    bounds = []
    for index, slice_ in enumerate(offer.profile):
        if len(slice_.energy_constraints) != 1:
            raise UndefinedMeasure(f"slice {index}: exactly one energy constraint is supported")
        bounds.append(slice_.energy_constraints[0])
    return bounds


def time_flexibility_intervals(offer: FlexOffer) -> int:
    """Time flexibility ``tf = LST - EST`` [intervals of ``num_seconds_per_interval``], >= 0 for a valid offer.

    Raises:
        UndefinedMeasure: the window is not a whole number of intervals.
    """
    seconds = time_flexibility_s(offer)
    intervals, rest = divmod(seconds, offer.num_seconds_per_interval)
    if rest:
        raise UndefinedMeasure("startBeforeTime - startAfterTime is not a whole number of intervals")
    return intervals


def time_flexibility_s(offer: FlexOffer) -> int:
    """Time flexibility ``tf = LST - EST`` [s] (whole seconds)."""
    return round((offer.start_before_time - offer.start_after_time).total_seconds())


def energy_flexibility_kwh(offer: FlexOffer) -> float:
    """Energy flexibility ``ef = sum over slices of (upper - lower)`` [kWh]; ignores the TEC (literature)."""
    return math.fsum(b.upper - b.lower for b in _bounds(offer))


def total_energy_range_kwh(offer: FlexOffer) -> tuple[float, float]:
    """Reachable total energy ``[max(sum l_i, T_lo), min(sum u_i, T_hi)]`` [kWh] (no TEC: the slice sums).

    The range is empty (first > second) only for an offer whose TEC misses the slice sums (invalid).
    """
    bounds = _bounds(offer)
    low = math.fsum(b.lower for b in bounds)
    high = math.fsum(b.upper for b in bounds)
    tec = offer.total_energy_constraint
    if tec is None:
        return low, high
    return max(low, tec.lower), min(high, tec.upper)


def effective_energy_flexibility_kwh(offer: FlexOffer) -> float:
    """Width of :func:`total_energy_range_kwh` [kWh], 0 when empty: the energy flexibility the TEC leaves."""
    low, high = total_energy_range_kwh(offer)
    return max(0.0, high - low)


def product_flexibility(offer: FlexOffer) -> float:
    """Product flexibility ``tf * ef`` [intervals * kWh]; 0 when either dimension is rigid."""
    return time_flexibility_intervals(offer) * energy_flexibility_kwh(offer)


def vector_flexibility(offer: FlexOffer) -> tuple[int, float]:
    """Vector flexibility ``(tf [intervals], ef [kWh])``."""
    return time_flexibility_intervals(offer), energy_flexibility_kwh(offer)


def vector_flexibility_norm(offer: FlexOffer) -> float:
    """Euclidean norm ``sqrt(tf^2 + ef^2)`` of :func:`vector_flexibility` (tf in intervals, ef in kWh)."""
    tf, ef = vector_flexibility(offer)
    return math.hypot(tf, ef)


def _slice_steps(bound: EnergyConstraint, step_kwh: float) -> int:
    return math.floor((bound.upper - bound.lower) / step_kwh + GRID_TOLERANCE)


def _amount_combinations(widths: Sequence[int], low_k: int, high_k: int) -> int:
    # Count integer vectors 0 <= k_i <= widths[i] with low_k <= sum k_i <= high_k. ways[s] = number of
    # vectors over the slices so far with sum s; each slice is a sliding-window sum via prefix sums.
    ways = [1]
    for width in widths:
        prefix = [0]
        for value in ways:
            prefix.append(prefix[-1] + value)
        size = len(ways) + width
        ways = [prefix[min(s, len(ways) - 1) + 1] - prefix[max(0, s - width)] for s in range(size)]
    low_k, high_k = max(low_k, 0), min(high_k, len(ways) - 1)
    return sum(ways[low_k : high_k + 1]) if low_k <= high_k else 0


def assignment_flexibility(offer: FlexOffer, step_kwh: float, *, max_steps: int = DEFAULT_MAX_STEPS) -> int:
    """Number of distinct valid assignments with amounts on a grid of ``step_kwh``, counted exactly.

    Slice ``i`` may take ``l_i + k * step_kwh`` for ``k = 0 .. floor((u_i - l_i) / step_kwh)`` (the grid starts
    at each lower bound, so every slice has at least one amount). The count is
    ``(tf + 1) * #{amount vectors whose total lies in the TEC}``: every start EST + j intervals, j = 0..tf, and
    every grid amount vector; slice durations are not counted as a choice. Without a TEC the count is
    ``(tf + 1) * prod_i (K_i + 1)`` >= 1; with a TEC it can be 0 if the TEC falls between grid totals.

    Complexity: dynamic programming over the slices on the total number of steps ``K = sum K_i``, with prefix
    sums: O(n * K) time and O(K) memory (integers are exact, Python ints do not overflow).

    Args:
        offer: the offer; one energy constraint per slice.
        step_kwh: grid step [kWh], > 0.
        max_steps: refuse offers with ``K > max_steps``.

    Raises:
        UndefinedMeasure: ``step_kwh`` not > 0 or finite, ``K > max_steps``, or bad slices.
    """
    if not (math.isfinite(step_kwh) and step_kwh > 0):
        raise UndefinedMeasure(f"step_kwh must be a finite number > 0, got {step_kwh}")
    bounds = _bounds(offer)
    widths = [_slice_steps(b, step_kwh) for b in bounds]
    if sum(widths) > max_steps:
        raise UndefinedMeasure(f"{sum(widths)} grid steps exceed max_steps={max_steps}")
    low_k, high_k = 0, sum(widths)
    tec = offer.total_energy_constraint
    if tec is not None:
        base = math.fsum(b.lower for b in bounds)
        low_k = math.ceil((tec.lower - base) / step_kwh - GRID_TOLERANCE)
        high_k = math.floor((tec.upper - base) / step_kwh + GRID_TOLERANCE)
    return (time_flexibility_intervals(offer) + 1) * _amount_combinations(widths, low_k, high_k)


def _reachable_slice_bounds(offer: FlexOffer) -> list[tuple[float, float]]:
    # With a TEC a slice cannot reach its own bound if the others cannot compensate:
    # a_i >= T_lo - (sum u - u_i) and a_i <= T_hi - (sum l - l_i).
    bounds = _bounds(offer)
    tec = offer.total_energy_constraint
    if tec is None:
        return [(b.lower, b.upper) for b in bounds]
    sum_l = math.fsum(b.lower for b in bounds)
    sum_u = math.fsum(b.upper for b in bounds)
    return [(max(b.lower, tec.lower - (sum_u - b.upper)), min(b.upper, tec.upper - (sum_l - b.lower))) for b in bounds]


def _fixed_durations(offer: FlexOffer) -> list[int]:
    if any(s.min_duration != s.max_duration for s in offer.profile):
        raise UndefinedMeasure("area measures need fixed slice durations (minDuration == maxDuration)")
    return [s.min_duration for s in offer.profile]


def covered_area(offer: FlexOffer) -> float:
    """Area [kWh * interval] of the union of all valid schedules' profiles over time.

    Over the horizon ``[EST, LST + profile length)``, interval ``t`` is covered from ``min(0, L(t))`` to
    ``max(0, H(t))``, where ``H``/``L`` are the highest/lowest per-interval energy any valid schedule (any start,
    amounts reachable under slice bounds and TEC) has at ``t``; the device is idle (0) outside its profile.

    Raises:
        UndefinedMeasure: variable slice durations or more than one energy constraint per slice.
    """
    durations = _fixed_durations(offer)
    heights: list[tuple[float, float]] = []
    for (low, high), d in zip(_reachable_slice_bounds(offer), durations, strict=True):
        heights.extend([(low / d, high / d)] * d)
    tf = time_flexibility_intervals(offer)
    area = 0.0
    for t in range(len(heights) + tf):
        # Starts s with 0 <= t - s < len(heights); at other starts the schedule is idle at t.
        active = [heights[t - s] for s in range(max(0, t - len(heights) + 1), min(t, tf) + 1)]
        idle = len(active) < tf + 1
        top = max([h for _, h in active] + ([0.0] if idle else []))
        bottom = min([lo for lo, _ in active] + ([0.0] if idle else []))
        area += max(0.0, top) - min(0.0, bottom)
    return area


def minimum_area(offer: FlexOffer) -> float:
    """Smallest area [kWh * interval] = ``min sum_i |a_i|`` [kWh] over valid amounts (any start).

    Closed form: put every amount as close to 0 as its bounds allow, ``c_i = clamp(0, l_i, u_i)``; if the total
    misses the TEC, each kWh moved towards it costs exactly one unit of area, so add the distance.
    """
    bounds = _bounds(offer)
    closest = [min(max(0.0, b.lower), b.upper) for b in bounds]
    total = math.fsum(closest)
    area = math.fsum(abs(c) for c in closest)
    tec = offer.total_energy_constraint
    if tec is not None:
        area += max(0.0, tec.lower - total) + max(0.0, total - tec.upper)
    return area


def absolute_area_flexibility(offer: FlexOffer) -> float:
    """Absolute area flexibility [kWh * interval]: :func:`covered_area` minus :func:`minimum_area`, >= 0.

    The area all possible schedules cover beyond the area any schedule must cover (Valsomatzis et al. 2015).
    A rigid offer (tf = 0, l_i = u_i) has 0.
    """
    return max(0.0, covered_area(offer) - minimum_area(offer))


def relative_area_flexibility(offer: FlexOffer) -> float:
    """Relative area flexibility [1]: :func:`absolute_area_flexibility` / :func:`minimum_area`.

    Raises:
        UndefinedMeasure: the minimum area is 0 (an offer that may consume nothing).
    """
    reference = minimum_area(offer)
    if reference <= 0.0:
        raise UndefinedMeasure("relative area flexibility needs a minimum area > 0")
    return absolute_area_flexibility(offer) / reference


def time_flexibility_loss(members: Sequence[FlexOffer], aggregate_tf: int) -> int:
    """Time flexibility lost by aggregation: ``sum tf(members) - tf(aggregate)`` [intervals].

    Args:
        members: the aggregated offers.
        aggregate_tf: the aggregate's time flexibility [intervals].
    """
    return sum(time_flexibility_intervals(m) for m in members) - aggregate_tf


def compression_ratio(n_members: int, n_aggregates: int) -> float:
    """Compression ratio ``members / aggregates`` [1] (> 1 means fewer offers reach the market).

    Raises:
        ValueError: ``n_aggregates < 1`` or ``n_members < 0``.
    """
    if n_aggregates < 1 or n_members < 0:
        raise ValueError(f"need n_aggregates >= 1 and n_members >= 0, got {n_members}, {n_aggregates}")
    return n_members / n_aggregates
