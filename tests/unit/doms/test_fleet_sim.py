"""The FOAs' execution: targets tracked per group, comfort first, the deficit recovered after the release."""

from __future__ import annotations

import numpy as np
import pytest

from goflex.doms.fleet_flex import build_fleet_model
from goflex.doms.fleet_sim import STEP_S, FleetSim
from goflex.twin.weather import Weather

from .doms_synthetic import START_S, small_fleet

HOURS = 12


def _sims(seed: int = 3) -> tuple[FleetSim, FleetSim]:
    model = build_fleet_model(small_fleet(seed=seed))
    weather = Weather(START_S - 3600.0, START_S + 2 * 86400.0, seed=seed)
    return FleetSim(model, weather, float(START_S), seed), FleetSim(model, weather, float(START_S), seed)


@pytest.fixture(scope="module")
def greedy() -> tuple[FleetSim, FleetSim, list[float], list[float]]:
    """Baseline and a fleet asked to block far more than it can, for 12 hours (a January night and morning)."""
    base, sim = _sims()
    names = sim.model.group_names
    base_mw, sim_mw = [], []
    for k in range(HOURS * 12):
        t = START_S + k * STEP_S
        sim.set_targets(dict.fromkeys(names, 10.0))
        base_mw.append(base.step(t))
        sim_mw.append(sim.step(t))
    return base, sim, base_mw, sim_mw


def test_comfort_is_never_worse_than_the_baseline_device_by_device(greedy: tuple) -> None:  # type: ignore[type-arg]
    base, sim, _, _ = greedy
    assert np.all(sim.comfort_steps() <= base.comfort_steps()), "comfort first, whatever DOMS orders"


def test_water_heaters_are_never_blocked_and_rooms_are(greedy: tuple) -> None:  # type: ignore[type-arg]
    _, sim, base_mw, sim_mw = greedy
    assert not sim.blocked[: sim.n_tanks].any()
    assert sim.shed_energy_mwh > 0
    assert np.mean(sim_mw[:12]) < np.mean(base_mw[:12]), "the first hour sheds load"


def test_targets_are_tracked_and_a_release_brings_the_recovery() -> None:
    base, sim = _sims(seed=4)
    room_groups = sorted({sim.model.group_names[int(g)] for g in sim.model.room_group})
    target = {room_groups[0]: 0.05}
    delta = []
    for k in range(4 * 12):
        t = START_S + k * STEP_S
        sim.set_targets(target if k < 12 else {})
        delta.append(sim.step(t) - base.step(t))
        if k == 11:
            state = sim.group_states()[sim.model.group_names.index(room_groups[0])]
            assert state.blocked_mw == pytest.approx(0.05, abs=0.01), "the group holds what was ordered"
            assert state.held_mwh > 0
    shed, after = -sum(delta[:12]) * STEP_S / 3600, sum(delta[12:]) * STEP_S / 3600
    assert shed > 0
    assert after > 0.5 * shed, "released rooms catch up what they missed"
    assert not sim.blocked.any()
