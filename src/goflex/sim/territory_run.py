"""``goflex twin simulate --json``: a territory-size fleet, physics only, summarised as JSON figures."""

from __future__ import annotations

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from goflex.common import ConfigError
from goflex.twin.fleet_generator import territory_fleet
from goflex.twin.territory import QUARTER_S, simulate_territory

ZURICH = ZoneInfo("Europe/Zurich")


def simulate_json(*, houses: int, days: float, seed: int, start: str, workers: int | None = None) -> dict[str, object]:
    """Simulate ``houses`` receivers of the territory for ``days`` and return the figures.

    Raises:
        ConfigError: ``start`` is not ``YYYY-MM-DD`` or ``houses`` < 1.
    """
    try:
        first = date.fromisoformat(start)
    except ValueError as exc:
        raise ConfigError("--start", f"{start!r}: expected YYYY-MM-DD") from exc
    if houses < 1:
        raise ConfigError("--houses", f"{houses}: need at least one house")
    specs = territory_fleet(seed=seed, receivers=houses)
    begin = datetime(first.year, first.month, first.day, tzinfo=ZURICH)
    workers = workers or max(1, min(os.cpu_count() or 1, 4))
    result = simulate_territory(specs, start=begin, days=days, seed=seed, workers=workers)
    hours = QUARTER_S / 3600.0

    def mwh(series: np.ndarray) -> float:
        return round(float(series.sum()) * hours / 1e6, 3)

    return {
        "houses": result.houses,
        "days": days,
        "start": begin.isoformat(),
        "quarters": int(result.time_s.size),
        "workers": workers,
        "wall_s": round(result.wall_s, 2),
        "house_days_per_s": round(result.house_days_per_s, 1),
        "energy_mwh": {
            "total": mwh(result.total_w),
            "base": mwh(result.base_w),
            "dhw": mwh(result.dhw_w),
            "space_heating": mwh(result.space_heating_w),
            "pv": mwh(result.pv_w),
        },
        "load_mw": {
            "mean": round(float(result.total_w.mean()) / 1e6, 3),
            "min": round(float(result.total_w.min()) / 1e6, 3),
            "max": round(float(result.total_w.max()) / 1e6, 3),
        },
    }
