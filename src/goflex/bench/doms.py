"""``goflex bench doms``: DOMS's optimisation cycle and evaluation speed (issue 5 section 6).

* Cycle: one :func:`goflex.doms.optimiser.solve` (LP build and HiGHS) for horizons of 4, 12 and 24 h and fleets
  of 10, 100 and 1,000 aggregated offers, each a group of devices as a store (headroom 0.5-4 h, recovery share
  0.2-1 per quarter, some already blocked or recovering), against three forecast quantiles of an imbalance
  random walk. Target: < 5 s for 24 h and 1,000 offers.
* Evaluation: a generated pilot and territory scenario through :func:`goflex.doms.evaluation.evaluate` (three
  cases each), reported as simulated scenario days per wall-clock minute, with the evaluation's own figures.

Progress goes to stderr; the result is one JSON document.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from goflex.doms.optimiser import PlanProblem, StoreOffer, solve
from goflex.doms.prices import TwoPrice

HORIZONS_H = (4, 12, 24)
FLEETS = (10, 100, 1000)
CYCLE_TARGET_S = 5.0


@dataclass(frozen=True)
class DomsBenchOptions:
    """``days``: scenario length of each evaluation; ``seed``: scenarios and offers; ``repeat``: cycle runs."""

    pilot_days: int = 7
    territory_days: int = 7
    seed: int = 1
    repeat: int = 3
    evaluate: bool = True


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cycle_problem(offers: int, horizon_quarters: int, seed: int) -> PlanProblem:
    """A planning problem of ``offers`` offers sharing ~10 MW of baseline power, over a random-walk imbalance."""
    rng = np.random.default_rng([seed, offers, horizon_quarters])
    walk = 2.0 + np.cumsum(rng.normal(0.0, 0.8, horizon_quarters))
    imbalance = np.stack([walk - 2.0, walk, walk + 2.0])
    spot = 40.0 + 10.0 * np.sin(np.arange(horizon_quarters) / 96.0 * 2 * np.pi)
    shed = tuple(
        StoreOffer(
            f"offer-{i}",
            np.full(horizon_quarters, 10.0 / offers) * rng.uniform(0.5, 1.5),
            hold_h=float(rng.uniform(0.5, 4.0)),
            recovery_share=float(rng.uniform(0.2, 1.0)),
            held_mwh=float(rng.choice([0.0, 2.0 / offers])),
            recovering_mwh=float(rng.choice([0.0, 1.0 / offers])),
            rebound_factor=float(rng.choice([1.0, 1.05])),
            cost_eur_per_mwh=0.5,
        )
        for i in range(offers)
    )
    return PlanProblem(imbalance, np.array([0.3, 0.4, 0.3]), TwoPrice().rates(spot, None, None), shed)


def bench_cycles(options: DomsBenchOptions) -> list[dict[str, Any]]:
    """Wall-clock time of one cycle (median of ``repeat``) per horizon and fleet."""
    rows = []
    for hours in HORIZONS_H:
        for offers in FLEETS:
            problem = cycle_problem(offers, hours * 4, options.seed)
            times = []
            plan = None
            for _ in range(options.repeat if offers < 1000 else 1):
                began = time.perf_counter()
                plan = solve(problem)
                times.append(time.perf_counter() - began)
            assert plan is not None
            row = {
                "horizon_h": hours,
                "offers": offers,
                "columns": plan.columns,
                "cycle_s": round(float(np.median(times)), 4),
                "solver_s": round(plan.solve_s, 4),
                "shed_mw_first_quarter": round(float(plan.shed_mw[:, 0].sum()), 4),
            }
            _progress(f"doms bench: cycle {row}")
            rows.append(row)
    return rows


def bench_evaluation(scale: str, days: int, seed: int) -> dict[str, Any]:
    """Generate a scenario of ``scale`` and evaluate it; the speed in simulated days per minute."""
    from goflex.doms.evaluation import evaluate  # noqa: PLC0415 - lazy (scikit-learn)
    from goflex.doms.scenario import ScenarioRequest, generate  # noqa: PLC0415 - lazy (pvlib)

    scenario = generate(ScenarioRequest(days=days, seed=seed, scale=scale)).scenario
    devices = sum(g.count for g in scenario.fleet.groups)
    _progress(f"doms bench: evaluating {scale} ({days} days, {devices} devices)")
    began = time.perf_counter()
    result = evaluate(scenario)
    wall = time.perf_counter() - began
    return {
        "scale": scale,
        "days": days,
        "devices": devices,
        "wall_s": round(wall, 2),
        "days_per_minute": round(days / wall * 60.0, 2),
        "result": result.to_json(),
    }


def bench_doms(options: DomsBenchOptions) -> dict[str, Any]:
    """All figures of ``goflex bench doms``."""
    cycles = bench_cycles(options)
    worst = next(r for r in cycles if r["horizon_h"] == 24 and r["offers"] == 1000)
    out: dict[str, Any] = {
        "cycles": cycles,
        "cycle_24h_1000_offers_s": worst["cycle_s"],
        "cycle_target_s": CYCLE_TARGET_S,
        "cycle_target_met": worst["cycle_s"] < CYCLE_TARGET_S,
    }
    if options.evaluate:
        out["evaluation"] = [
            bench_evaluation("pilot", options.pilot_days, options.seed),
            bench_evaluation("territory", options.territory_days, options.seed),
        ]
    return out
