"""Status of a fleet split over processes: counts add up, temperatures combine without losing a process."""

from __future__ import annotations

import math

import pytest

from goflex.sim.process import FleetStatus, combined
from goflex.twin.fleet import FleetSummary


def summary(houses: int, tank: tuple[float, float, float], room: tuple[float, float, float]) -> FleetSummary:
    return FleetSummary(
        time_s=0.0,
        houses=houses,
        relays_open=1,
        boilers_heating=2,
        space_heaters_running=3,
        tank_mean_c=tank[1],
        tank_min_c=tank[0],
        tank_max_c=tank[2],
        room_mean_c=room[1],
        room_min_c=room[0],
        room_max_c=room[2],
        total_power_w=1000.0 * houses,
        outdoor_c=2.0,
    )


def test_counts_add_up_and_temperatures_are_extremes_and_weighted_means() -> None:
    nan = (math.nan, math.nan, math.nan)
    a = FleetStatus(10, 500, summary(10, (45.0, 55.0, 60.0), (19.0, 20.0, 21.0)))
    b = FleetStatus(29, 700, summary(30, (50.0, 59.0, 65.0), nan))  # no heated rooms in this process
    total = combined([a, b])
    assert (total.online, total.published) == (39, 1200)
    s = total.summary
    assert (s.houses, s.relays_open, s.boilers_heating, s.space_heaters_running) == (40, 2, 4, 6)
    assert (s.tank_min_c, s.tank_max_c) == (45.0, 65.0)
    assert s.tank_mean_c == pytest.approx((10 * 55.0 + 30 * 59.0) / 40)
    assert (s.room_min_c, s.room_mean_c, s.room_max_c) == (19.0, 20.0, 21.0)
    assert s.total_power_w == 40_000.0


def test_nothing_to_combine_is_refused() -> None:
    with pytest.raises(ValueError, match="no fleet status"):
        combined([])
