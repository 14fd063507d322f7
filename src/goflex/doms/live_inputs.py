"""What the live DOMS knows besides the live load: the day-ahead schedule, prices and weather (seed 3.3.2).

* :class:`ScenarioReplay` maps any platform time to a row of a scenario's ``grid.csv``: inside the file's dates
  the row of that time; outside them the row of the same weekday and time of day (whole weeks of the file, or
  whole days for a file shorter than a week), so a January 2016 scenario serves a demo run today. The grid
  endpoint publishes its load from the same replay (:mod:`goflex.demo.grid_meter`), so both see one balance
  group.
* :class:`DayaheadSource`: the day-ahead schedule and spot prices of the replay, overridden by a *file drop*:
  every ``dayahead*.csv`` in a directory (the ``grid.csv`` format, ``load_mw`` may be empty), re-read when its
  modification time changes (the DSO's forecasting office drops the next day's file, seed 3.3). A bad file is
  named and counted; the data read before stays in use.
* ``scale``: a *demo balance group* is the scenario multiplied by ``scale`` (docs/doms-live.md); every MW value
  read here is scaled, prices are not.

Pure but for reading the files (no network, no event loop).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from goflex.doms.forecast.base import F64
from goflex.doms.scenario_files import GridSeries, ScenarioError, read_grid
from goflex.twin.weather import Weather

log = logging.getLogger(__name__)

STEP_S = 300
DAY_S = 86_400
WEEK_S = 7 * DAY_S


@dataclass(frozen=True)
class ReplayRow:
    """One 5-minute row of the replayed scenario (already scaled).

    Attributes:
        load_mw: balance-group load [MW] (NaN where the file has a hole or a bad value).
        dayahead_mw: day-ahead forecast [MW].
        spot_eur_mwh: spot price [EUR/MWh].
        short_eur_mwh, long_eur_mwh: the file's imbalance prices, NaN without.
    """

    load_mw: float
    dayahead_mw: float
    spot_eur_mwh: float
    short_eur_mwh: float = math.nan
    long_eur_mwh: float = math.nan


class ScenarioReplay:
    """A ``grid.csv`` replayed at any time (see the module docstring).

    Args:
        grid: the scenario's series.
        scale: factor on every MW value (1 = the real balance group) [-], > 0.

    Raises:
        ValueError: a non-positive scale.
    """

    def __init__(self, grid: GridSeries, *, scale: float = 1.0) -> None:
        if not scale > 0:
            raise ValueError("scale must be > 0")
        self.grid = grid
        self.scale = scale
        self.start_s = int(grid.time_s[0])
        span = int(grid.time_s.size) * STEP_S
        period = WEEK_S if span >= WEEK_S else DAY_S if span >= DAY_S else span
        self.span_s = span // period * period

    @classmethod
    def read(cls, directory: Path, *, scale: float = 1.0) -> ScenarioReplay:
        """The replay of ``directory/grid.csv``.

        Raises:
            ScenarioError: the file cannot be read or breaks the format (the message names the row or column).
        """
        return cls(read_grid(directory / "grid.csv"), scale=scale)

    def index(self, time_s: float) -> int:
        """The row replayed at ``time_s`` (Unix [s])."""
        return int((math.floor(time_s) - self.start_s) % self.span_s) // STEP_S

    def row(self, time_s: float) -> ReplayRow:
        """The scaled row of the 5-minute interval containing ``time_s``."""
        g, i = self.grid, self.index(time_s)
        short = g.price_short_eur_mwh
        long_ = g.price_long_eur_mwh
        return ReplayRow(
            float(g.load_mw[i]) * self.scale,
            float(g.dayahead_mw[i]) * self.scale,
            float(g.spot_eur_mwh[i]),
            math.nan if short is None else float(short[i]),
            math.nan if long_ is None else float(long_[i]),
        )


@dataclass
class DayaheadSource:
    """Day-ahead schedule and prices: the replay, overridden by the dropped files (see the module docstring).

    Args:
        replay: the scenario.
        drop_dir: where ``dayahead*.csv`` files are dropped (None: the scenario only).
    """

    replay: ScenarioReplay
    drop_dir: Path | None = None
    bad_files: int = 0
    last_error: str = ""
    _seen: dict[Path, float] = field(default_factory=dict)
    _dayahead: dict[int, float] = field(default_factory=dict)
    _spot: dict[int, float] = field(default_factory=dict)

    def refresh(self) -> int:
        """Re-read the dropped files whose modification time changed; return how many were read."""
        if self.drop_dir is None or not self.drop_dir.is_dir():
            return 0
        read = 0
        for path in sorted(self.drop_dir.glob("dayahead*.csv")):
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if self._seen.get(path) == mtime:
                continue
            self._seen[path] = mtime
            try:
                grid = read_grid(path)
            except ScenarioError as exc:
                self.bad_files += 1
                self.last_error = str(exc)
                log.warning("DOMS: day-ahead file ignored: %s", exc)
                continue
            for t, d, s in zip(grid.time_s, grid.dayahead_mw, grid.spot_eur_mwh, strict=True):
                self._dayahead[int(t)] = float(d) * self.replay.scale
                self._spot[int(t)] = float(s)
            read += 1
            log.info("DOMS: day-ahead file %s read (%d rows)", path.name, grid.time_s.size)
        return read

    @property
    def dropped_rows(self) -> int:
        """Rows known from dropped files."""
        return len(self._dayahead)

    def _key(self, time_s: float) -> int:
        return int(time_s) // STEP_S * STEP_S

    def dayahead_mw(self, time_s: float) -> float:
        """Day-ahead forecast of the 5-minute interval containing ``time_s`` [MW] (scaled)."""
        value = self._dayahead.get(self._key(time_s))
        return self.replay.row(time_s).dayahead_mw if value is None else value

    def prices(self, time_s: F64) -> tuple[F64, F64 | None, F64 | None]:
        """Spot and the file's imbalance prices (None without) of the given times [EUR/MWh]."""
        rows = [self.replay.row(float(t)) for t in time_s]
        spot = np.array(
            [self._spot.get(self._key(float(t)), r.spot_eur_mwh) for t, r in zip(time_s, rows, strict=True)]
        )
        if self.replay.grid.price_short_eur_mwh is None:
            return spot, None, None
        return spot, np.array([r.short_eur_mwh for r in rows]), np.array([r.long_eur_mwh for r in rows])


@dataclass
class WeatherForecast:
    """Outdoor temperature of the site, from the twin's weather (the live service has no weather feed yet).

    The window is re-made when asked beyond it (the twin's weather is a deterministic function of the seed).
    """

    seed: int = 1
    _weather: Weather | None = None
    _window: tuple[float, float] = (0.0, 0.0)

    def temperature_c(self, time_s: F64) -> F64:
        """Temperature at ``time_s`` [C]."""
        lo, hi = float(np.min(time_s)), float(np.max(time_s))
        if self._weather is None or lo < self._window[0] or hi > self._window[1]:
            self._window = (lo - DAY_S, hi + 3 * DAY_S)
            self._weather = Weather(*self._window, seed=self.seed)
        return self._weather.temperature_c(time_s)


__all__ = ["DayaheadSource", "ReplayRow", "ScenarioReplay", "WeatherForecast"]
