"""Per-slot energy bounds that keep a store within its limits for *every* schedule inside them (pure).

A store (battery, heat storage of a factory process) holds ``level`` [kWh]; the baseline flow ``b_k`` [kWh at
the meter per slot] keeps it at ``base_k`` after slot k. A schedule deviates by ``x_k - b_k``; one kWh more at
the meter raises the level by ``gain_up`` [kWh/kWh], one kWh less lowers it by ``loss_down`` [kWh/kWh]. A
standard FlexOffer only bounds each slice and the total (dependency FlexOffers, which would bound the running
sum, are not supported by :mod:`goflex.flex.validation`), so the bounds are chosen such that even the worst
schedule - every slot at its lower bound, or every slot at its upper bound - keeps the level in
``[level_min, level_max]`` after every slot (flexoffer.md 2: "EV charging and batteries: ... per-slice power
bounds").

Greedy allocation, front-loaded: with ``room_k = base_k - level_min``, the down-deviation of slot j is
``d_j = min(b_j - p_min_j, (min_{k>=j} room_k - used_{j-1}) / loss_down)``, where ``used`` is the level already
promised away. Then ``used_k <= min_{k'>=k} room_k' <= room_k`` for every k: every prefix of lower bounds keeps
the level at or above ``level_min``. The up-deviation is the mirror image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from goflex.flex.foa.errors import InvalidDeviceState

LEVEL_TOLERANCE_KWH = 1e-9


@dataclass(frozen=True, slots=True)
class StoreBounds:
    """Result of :func:`store_bounds`: per slot, the bounds [kWh at the meter] and the baseline levels [kWh]."""

    lower_kwh: tuple[float, ...]
    upper_kwh: tuple[float, ...]
    baseline_level_kwh: tuple[float, ...]


def baseline_levels(level_kwh: float, net_gain_kwh: Sequence[float]) -> list[float]:
    """Levels after each slot when the level changes by ``net_gain_kwh[k]`` in slot k."""
    levels, level = [], level_kwh
    for gain in net_gain_kwh:
        level += gain
        levels.append(level)
    return levels


def store_bounds(
    *,
    level_kwh: float,
    level_min_kwh: float,
    level_max_kwh: float,
    baseline_kwh: Sequence[float],
    baseline_gain_kwh: Sequence[float],
    meter_min_kwh: Sequence[float],
    meter_max_kwh: Sequence[float],
    gain_up: float,
    loss_down: float,
) -> StoreBounds:
    """Per-slot bounds around the baseline that no schedule can push out of the store's limits.

    Args:
        level_kwh: the level now [kWh].
        level_min_kwh, level_max_kwh: the store's limits [kWh].
        baseline_kwh: baseline energy at the meter per slot [kWh] (consumption-positive).
        baseline_gain_kwh: the level's change per slot under the baseline [kWh] (inflow minus demand).
        meter_min_kwh, meter_max_kwh: what the device can draw per slot [kWh] (negative = feeds in).
        gain_up: level gained per extra kWh at the meter [-] (> 0; charge efficiency, COP).
        loss_down: level lost per kWh less at the meter [-] (> 0; 1 / discharge efficiency, 1 / COP).

    Returns:
        Bounds ``lower <= baseline <= upper`` per slot and the baseline levels.

    Raises:
        InvalidDeviceState: the inputs are inconsistent, or the baseline itself leaves the limits.
    """
    n = len(baseline_kwh)
    if not (len(baseline_gain_kwh) == len(meter_min_kwh) == len(meter_max_kwh) == n):
        raise InvalidDeviceState("baseline_kwh", "baseline, gains and meter limits need one value per slot")
    if gain_up <= 0 or loss_down <= 0:
        raise InvalidDeviceState("gain_up", "gain_up and loss_down must be > 0")
    if not level_min_kwh - LEVEL_TOLERANCE_KWH <= level_kwh <= level_max_kwh + LEVEL_TOLERANCE_KWH:
        raise InvalidDeviceState("level_kwh", f"must lie in [{level_min_kwh}, {level_max_kwh}]")
    for k in range(n):
        if not meter_min_kwh[k] - 1e-9 <= baseline_kwh[k] <= meter_max_kwh[k] + 1e-9:
            raise InvalidDeviceState(f"baseline_kwh[{k}]", "must lie within the device's meter limits")
    levels = baseline_levels(level_kwh, baseline_gain_kwh)
    room_down = [lv - level_min_kwh for lv in levels]
    room_up = [level_max_kwh - lv for lv in levels]
    if min(room_down, default=0.0) < -LEVEL_TOLERANCE_KWH or min(room_up, default=0.0) < -LEVEL_TOLERANCE_KWH:
        raise InvalidDeviceState("baseline_kwh", "the baseline itself leaves the store's limits")
    down = _allocate(room_down, [b - lo for b, lo in zip(baseline_kwh, meter_min_kwh, strict=True)], loss_down)
    up = _allocate(room_up, [hi - b for b, hi in zip(baseline_kwh, meter_max_kwh, strict=True)], gain_up)
    return StoreBounds(
        lower_kwh=tuple(max(lo, b - d) for b, d, lo in zip(baseline_kwh, down, meter_min_kwh, strict=True)),
        upper_kwh=tuple(min(hi, b + u) for b, u, hi in zip(baseline_kwh, up, meter_max_kwh, strict=True)),
        baseline_level_kwh=tuple(levels),
    )


def _allocate(room: Sequence[float], headroom: Sequence[float], effect: float) -> list[float]:
    """Front-loaded deviations [kWh at the meter] whose prefix sums x effect never exceed ``room``."""
    suffix_min, running = [0.0] * len(room), float("inf")
    for k in range(len(room) - 1, -1, -1):
        running = min(running, max(room[k], 0.0))
        suffix_min[k] = running
    used, out = 0.0, []
    for k, head in enumerate(headroom):
        # A 1e-9 safety margin keeps float rounding from crossing the limit in simulation.
        d = max(0.0, min(max(head, 0.0), (suffix_min[k] - used) / effect * (1.0 - 1e-9)))
        used += d * effect
        out.append(d)
    return out
