"""Small synthetic DOMS scenarios for tests (hand-made series and a small fleet)."""

from __future__ import annotations

import numpy as np

from goflex.doms.scenario_files import DirectHeatingGroup, Fleet, GridSeries, HeatPumpGroup, Scenario, WaterHeaterGroup

START_S = 1_452_211_200  # 2016-01-08 00:00 UTC (a winter week: the heating runs)


def small_fleet(seed: int = 3, scale: int = 1) -> Fleet:
    """About 300 devices per ``scale``: water heaters, heat pumps and direct heaters."""
    return Fleet(
        seed=seed,
        groups=(
            WaterHeaterGroup(80 * scale, 6.0, 300.0, 60.0, 6.0, 45.0, 2.5, (1, 5)),
            HeatPumpGroup(120 * scale, 8.0, 180.0, 9.0, (19.5, 22.0)),
            DirectHeatingGroup(100 * scale, 6.0, 150.0, 7.0, (19.5, 22.0)),
        ),
    )


def grid(imbalance_mw: np.ndarray, *, dayahead_mw: float = 60.0, spot: float = 50.0) -> GridSeries:
    """A grid series whose load is the day-ahead plus ``imbalance_mw`` (one value per 5 minutes)."""
    n = imbalance_mw.size
    time_s = START_S + 300 * np.arange(n, dtype=np.int64)
    dayahead = np.full(n, dayahead_mw)
    return GridSeries(
        time_s=time_s, load_mw=dayahead + imbalance_mw, dayahead_mw=dayahead, spot_eur_mwh=np.full(n, spot)
    )


def square_wave(days: float, *, amplitude_mw: float = 3.0, period_h: float = 4.0) -> np.ndarray:
    """Short then long for ``period_h / 2`` each, per 5 minutes, with a small fixed ripple (a live feed never repeats
    a value exactly: identical values would read as a stuck feed)."""
    n = int(days * 288)
    t_h = np.arange(n) / 12.0
    ripple = 0.05 * np.sin(np.arange(n) * 1.7)
    return np.where((t_h % period_h) < period_h / 2, amplitude_mw, -amplitude_mw) + ripple


def scenario(imbalance_mw: np.ndarray, fleet: Fleet | None = None) -> Scenario:
    """A scenario of the given imbalance and fleet."""
    return Scenario(grid=grid(imbalance_mw), fleet=fleet or small_fleet())
