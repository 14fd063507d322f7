"""A whole territory's load, physics only (no MQTT, no meters): for DOMS studies (pure).

:func:`simulate_territory` steps a :class:`goflex.twin.fleet.FleetPhysics` without meter synthesis and returns
the aggregated load per 15 minutes (the settlement period of seed 3.3), split into base load, water heaters,
space heating and PV, optionally with relay blocks (ripple-control style: a group's relay open for an interval).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from goflex.twin.fleet import FleetPhysics
from goflex.twin.house import HouseSpec

QUARTER_S = 900.0


@dataclass(frozen=True)
class RelayBlock:
    """Relay ``relay`` of ``houses`` open during ``[start, end)``.

    Attributes:
        start: block start (aware).
        end: block end (aware).
        houses: indices of the houses in the fleet.
        relay: 1 or 2.
    """

    start: datetime
    end: datetime
    houses: NDArray[np.intp]
    relay: int = 1


@dataclass(frozen=True)
class TerritoryResult:
    """Mean powers per quarter hour of the whole territory [W], shape (q,) each.

    Attributes:
        time_s: start of each quarter hour, Unix [s].
        total_w: net load (base + water heaters + space heating - PV).
        base_w, dhw_w, space_heating_w, pv_w: the parts (PV as generation, positive).
        houses: number of houses.
        wall_s: wall-clock time of the simulation [s].
    """

    time_s: NDArray[np.float64]
    total_w: NDArray[np.float64]
    base_w: NDArray[np.float64]
    dhw_w: NDArray[np.float64]
    space_heating_w: NDArray[np.float64]
    pv_w: NDArray[np.float64]
    houses: int
    wall_s: float

    @property
    def house_days_per_s(self) -> float:
        """Simulation speed [house-days per wall-clock second]."""
        days = (self.time_s.size * QUARTER_S) / 86400.0
        return self.houses * days / self.wall_s if self.wall_s > 0 else float("inf")


def boiler_block(specs: Sequence[HouseSpec], *, share: float, start: datetime, end: datetime, seed: int) -> RelayBlock:
    """Block a random ``share`` (0..1) of the houses with an electric water heater on its relay.

    Raises:
        ValueError: ``share`` outside [0, 1] or houses whose water heaters use different relays.
    """
    if not 0 <= share <= 1:
        raise ValueError(f"share {share} not in [0, 1]")
    boilers = np.array([i for i, s in enumerate(specs) if s.electric_dhw], dtype=np.intp)
    relays = {specs[i].dhw_relay for i in boilers}
    if len(relays) > 1:
        raise ValueError(f"water heaters on several relays {relays}: build the RelayBlocks per relay")
    rng = np.random.default_rng([seed, 0xB10C])
    chosen = np.sort(rng.choice(boilers, size=round(share * boilers.size), replace=False))
    return RelayBlock(start=start, end=end, houses=chosen, relay=relays.pop() if relays else 1)


def simulate_territory(
    specs: Sequence[HouseSpec],
    *,
    start: datetime,
    days: float,
    dt_s: float = 300.0,
    seed: int,
    relay_schedule: Sequence[RelayBlock] | None = None,
    workers: int = 1,
) -> TerritoryResult:
    """Simulate ``specs`` for ``days`` from ``start`` and aggregate the load per quarter hour.

    Houses are independent given the weather, so ``workers`` > 1 splits the fleet into that many contiguous
    parts simulated in separate processes under the same weather (per-house random draws then depend on the
    split, so results are deterministic for a given seed *and* number of workers).

    Args:
        specs: the houses (e.g. :func:`goflex.twin.fleet_generator.territory_fleet`).
        start: start (aware; the quarter hours are counted from it).
        days: duration [d] (> 0).
        dt_s: physics step [s], dividing 900 s (300 s by default: thermostats act every 5 min; 60 s is finer).
        seed: random seed.
        relay_schedule: relay blocks (relays closed otherwise); they act on whole quarter hours.
        workers: processes (>= 1).

    Raises:
        ValueError: a step that does not divide a quarter hour, a non-positive duration or no worker.
    """
    if days <= 0 or QUARTER_S % dt_s or workers < 1:
        raise ValueError("days must be > 0, dt_s must divide 900 s and workers >= 1")
    began = time.perf_counter()
    blocks = list(relay_schedule or ())
    bounds = np.linspace(0, len(specs), min(workers, len(specs)) + 1).round().astype(int)
    jobs = [
        _Part(
            specs=list(specs[lo:hi]),
            blocks=[replace(b, houses=b.houses[(b.houses >= lo) & (b.houses < hi)] - lo) for b in blocks],
            start=start,
            days=days,
            dt_s=dt_s,
            seed=seed,
        )
        for lo, hi in itertools.pairwise(bounds)
    ]
    if len(jobs) == 1:
        parts = [_simulate_part(jobs[0])]
    else:
        with ProcessPoolExecutor(max_workers=len(jobs)) as pool:
            parts = list(pool.map(_simulate_part, jobs))
    mean_w = np.sum(parts, axis=0) / QUARTER_S
    base, dhw, sh, pv = mean_w.T
    return TerritoryResult(
        time_s=start.timestamp() + QUARTER_S * np.arange(mean_w.shape[0], dtype=np.float64),
        total_w=base + dhw + sh - pv,
        base_w=base,
        dhw_w=dhw,
        space_heating_w=sh,
        pv_w=pv,
        houses=len(specs),
        wall_s=time.perf_counter() - began,
    )


@dataclass(frozen=True)
class _Part:
    """One worker's share of a territory run."""

    specs: list[HouseSpec]
    blocks: list[RelayBlock]
    start: datetime
    days: float
    dt_s: float
    seed: int


def _simulate_part(part: _Part) -> NDArray[np.float64]:
    """Energy per quarter hour and load column (base, dhw, space heating, pv) [J], shape (q, 4)."""
    specs, blocks, start, days, dt_s, seed = part.specs, part.blocks, part.start, part.days, part.dt_s, part.seed
    fleet = FleetPhysics(specs, start=start, seed=seed, dt_s=dt_s, days=days, detailed=False)
    quarters = round(days * 86400.0 / QUARTER_S)
    energy = np.zeros((quarters, 4))
    n = len(specs)
    for q in range(quarters):
        t = fleet.start_s + q * QUARTER_S
        for relay in (1, 2):
            closed = np.ones(n, dtype=np.bool_)
            for b in blocks:
                if b.relay == relay and b.start.timestamp() <= t < b.end.timestamp():
                    closed[b.houses] = False
            fleet.set_relays(relay, closed)
        before = fleet.energy_j.copy()
        fleet.advance_to(t + QUARTER_S)
        energy[q] = fleet.energy_j - before
    return energy
