"""Territory: a blocked group of boilers lowers the aggregate load during the block and rebounds after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from goflex.twin.fleet_generator import MEAN_INSTALLED_W, REGISTERED_BOILERS, pilot_fleet, territory_fleet
from goflex.twin.house import Technology
from goflex.twin.territory import boiler_block, simulate_territory

START = datetime(2024, 2, 5, tzinfo=UTC)


def test_blocked_boilers_reduce_load_during_the_block_and_rebound_after() -> None:
    specs = pilot_fleet(300, seed=8)
    block = boiler_block(specs, share=1.0, start=START + timedelta(hours=16), end=START + timedelta(hours=19), seed=1)
    free = simulate_territory(specs, start=START, days=1.5, seed=2)
    held = simulate_territory(specs, start=START, days=1.5, seed=2, relay_schedule=[block])
    during = slice(16 * 4, 19 * 4)
    after = slice(19 * 4, 22 * 4)
    assert held.dhw_w[during].sum() == 0.0
    assert held.total_w[during].mean() < free.total_w[during].mean() - 0.5 * free.dhw_w[during].mean()
    assert held.dhw_w[after].mean() > 1.5 * free.dhw_w[after].mean()  # rebound: the tanks recharge
    assert np.array_equal(held.total_w[: 16 * 4], free.total_w[: 16 * 4])
    shifted = held.dhw_w.sum() / free.dhw_w.sum()
    assert 0.9 < shifted < 1.1  # a boiler's energy is shifted, not lost
    assert held.house_days_per_s > 0


def test_territory_fleet_has_the_seed_figures() -> None:
    specs = territory_fleet(seed=1)
    assert len(specs) == 11_687
    installed = sum(s.space_heating_power_w + s.dhw_power_w for s in specs)
    assert abs(installed / len(specs) / MEAN_INSTALLED_W - 1.0) < 0.02
    heat_pumps = [s for s in specs if s.space_heating is Technology.HEAT_PUMP]
    assert len(heat_pumps) >= 1287
    assert sum(s.dhw is Technology.RESISTIVE for s in specs) >= REGISTERED_BOILERS[0]


def test_workers_split_the_fleet_and_add_up() -> None:
    specs = pilot_fleet(60, seed=2)
    two = simulate_territory(specs, start=START, days=0.25, seed=3, workers=2)
    one = simulate_territory(specs, start=START, days=0.25, seed=3)
    assert two.total_w.shape == one.total_w.shape == (24,)
    # same weather, same houses: the fleets differ only in per-house random draws
    assert abs(two.total_w.sum() / one.total_w.sum() - 1.0) < 0.25


def test_five_minute_steps_give_the_same_energies_as_one_minute_steps() -> None:
    # The territory mode steps 300 s by default (thermostats act every 5 min): what DOMS studies read, the
    # energy per part and the shape of a rebound, must not depend on it.
    specs = territory_fleet(seed=5, receivers=400)
    block = boiler_block(specs, share=0.5, start=START + timedelta(hours=17), end=START + timedelta(hours=19), seed=3)
    fine = simulate_territory(specs, start=START, days=1, dt_s=60.0, seed=4, relay_schedule=[block])
    coarse = simulate_territory(specs, start=START, days=1, dt_s=300.0, seed=4, relay_schedule=[block])
    for part in ("total_w", "base_w", "dhw_w", "space_heating_w", "pv_w"):
        a, b = getattr(fine, part).sum(), getattr(coarse, part).sum()
        assert abs(b - a) <= 0.03 * abs(a) + 1e-9, part
    hourly_fine = fine.dhw_w.reshape(-1, 4).mean(axis=1)
    hourly_coarse = coarse.dhw_w.reshape(-1, 4).mean(axis=1)
    assert hourly_coarse[19] > 1.5 * hourly_coarse[16]  # the rebound is there in both
    assert np.abs(hourly_coarse - hourly_fine).max() <= 0.15 * hourly_fine.max()


def test_a_smaller_territory_is_a_sample_of_the_whole_one() -> None:
    whole = territory_fleet(seed=2)
    sample = territory_fleet(seed=2, receivers=1000)
    assert [s.number for s in sample] == list(range(1, 1001))
    share = sum(s.space_heating is Technology.HEAT_PUMP for s in sample) / len(sample)
    whole_share = sum(s.space_heating is Technology.HEAT_PUMP for s in whole) / len(whole)
    assert abs(share - whole_share) < 0.03
