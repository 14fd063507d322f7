"""The seed's analysis of the day-ahead forecast error (seed 3.3.1, Figures 51-55; pure).

Per quarter hour, the error is ``load - dayahead`` [MW] (positive: the balance group consumed more than
forecast, it is short). The live load comes every 5 minutes; a quarter's load is the mean of its valid values,
so holes are skipped, never read as zero, and a quarter without any valid value is left out (it also ends the
run it falls in, since nothing is known about its sign).

An error *run* ("error" in the seed) is a maximal sequence of consecutive quarters whose errors have one sign
(a zero error counts as positive, a measure-zero case with real data). Its duration is its length [min]; its
energy is the sum of its quarter errors x 0.25 h [MWh], signed.

The statistics, as fractions in 0..1 (the seed's 2016 values in brackets):

* ``share_quarters_within_5mw``: quarters with ``|error| <= 5 MW`` (82 %);
* ``share_runs_within_2mwh``: runs with ``|energy| <= 2 MWh`` (77 %);
* ``share_runs_under_60min``: runs lasting less than 60 minutes, i.e. 1-3 quarters (74 %);
* ``energy_share_runs_under_2mwh``: share of the total ``|energy|`` of all runs held by the runs with
  ``|energy| <= 2 MWh`` (7.8 %), and likewise ``energy_share_runs_under_5mwh`` (13.0 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from goflex.doms.scenario_files import GridSeries

QUARTER_H: Final = 0.25
SEED_2016: Final = {
    "quarters": 35136,
    "share_quarters_within_5mw": 0.82,
    "runs": 4980,
    "share_runs_within_2mwh": 0.77,
    "share_runs_under_60min": 0.74,
    "energy_share_runs_under_2mwh": 0.078,
    "energy_share_runs_under_5mwh": 0.130,
}


@dataclass(frozen=True, eq=False)
class QuarterErrors:
    """The forecast error per quarter hour.

    Attributes:
        time_s: start of each quarter, Unix time [s], shape ``(q,)``.
        error_mw: ``load - dayahead`` [MW]; NaN where the quarter has no valid load value.
    """

    time_s: NDArray[np.int64]
    error_mw: NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Runs:
    """Runs of one sign of the error.

    Attributes:
        start_s: start of each run, Unix time [s].
        quarters: length of each run [quarter hours].
        energy_mwh: signed energy of each run [MWh].
    """

    start_s: NDArray[np.int64]
    quarters: NDArray[np.int64]
    energy_mwh: NDArray[np.float64]

    @property
    def duration_min(self) -> NDArray[np.float64]:
        """Duration of each run [min]."""
        return np.asarray(self.quarters * 15.0, dtype=np.float64)


@dataclass(frozen=True)
class ErrorStatistics:
    """The figures of seed 3.3.1 (see the module docstring); shares are fractions 0..1.

    Attributes:
        quarters: quarters with a valid error.
        skipped_quarters: quarters without any valid load value.
        share_quarters_within_5mw: see module docstring.
        runs: number of runs of one sign.
        share_runs_within_2mwh: see module docstring.
        share_runs_under_60min: see module docstring.
        energy_share_runs_under_2mwh: see module docstring.
        energy_share_runs_under_5mwh: see module docstring.
        imbalance_mwh: total absolute imbalance energy [MWh].
    """

    quarters: int
    skipped_quarters: int
    share_quarters_within_5mw: float
    runs: int
    share_runs_within_2mwh: float
    share_runs_under_60min: float
    energy_share_runs_under_2mwh: float
    energy_share_runs_under_5mwh: float
    imbalance_mwh: float

    def to_json(self) -> dict[str, float | int]:
        """The ``stats.json`` document (the issue's keys, then the two extra ones)."""
        return {
            "quarters": self.quarters,
            "share_quarters_within_5mw": round(self.share_quarters_within_5mw, 6),
            "runs": self.runs,
            "share_runs_within_2mwh": round(self.share_runs_within_2mwh, 6),
            "share_runs_under_60min": round(self.share_runs_under_60min, 6),
            "energy_share_runs_under_2mwh": round(self.energy_share_runs_under_2mwh, 6),
            "energy_share_runs_under_5mwh": round(self.energy_share_runs_under_5mwh, 6),
            "skipped_quarters": self.skipped_quarters,
            "imbalance_mwh": round(self.imbalance_mwh, 3),
        }


def quarter_errors(grid: GridSeries) -> QuarterErrors:
    """The error per quarter hour; the load is the mean of the quarter's valid 5-minute values."""
    load = grid.load_mw.reshape(-1, 3)
    valid = np.isfinite(load)
    count = valid.sum(axis=1)
    total = np.where(valid, load, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    error = mean - grid.dayahead_mw.reshape(-1, 3)[:, 0]
    return QuarterErrors(time_s=grid.time_s[::3].copy(), error_mw=np.asarray(error, dtype=np.float64))


def error_runs(errors: QuarterErrors) -> Runs:
    """The runs of one sign of ``errors`` (a NaN quarter ends a run and belongs to none)."""
    e = errors.error_mw
    valid = np.isfinite(e)
    sign = np.where(valid, np.where(e >= 0.0, 1, -1), 0)
    # A run starts where the sign changes (or at a valid quarter after a NaN).
    starts = np.flatnonzero(valid & np.concatenate(([True], sign[1:] != sign[:-1])))
    if starts.size == 0:
        empty_i = np.zeros(0, dtype=np.int64)
        return Runs(start_s=empty_i, quarters=empty_i.copy(), energy_mwh=np.zeros(0))
    boundaries = np.flatnonzero(np.concatenate(([True], sign[1:] != sign[:-1], [True])))
    # End of each run: the next boundary after its start.
    ends = boundaries[np.searchsorted(boundaries, starts, side="right")]
    cumulative = np.concatenate(([0.0], np.cumsum(np.where(valid, e, 0.0))))
    return Runs(
        start_s=errors.time_s[starts].astype(np.int64),
        quarters=(ends - starts).astype(np.int64),
        energy_mwh=np.asarray((cumulative[ends] - cumulative[starts]) * QUARTER_H, dtype=np.float64),
    )


def _share(mask: NDArray[np.bool_]) -> float:
    return float(mask.mean()) if mask.size else 0.0


def error_statistics(errors: QuarterErrors, runs: Runs | None = None) -> ErrorStatistics:
    """The seed 3.3.1 figures of ``errors`` (``runs`` default: :func:`error_runs` of them)."""
    runs = error_runs(errors) if runs is None else runs
    e = errors.error_mw[np.isfinite(errors.error_mw)]
    energy = np.abs(runs.energy_mwh)
    total = float(energy.sum())

    def energy_share(limit_mwh: float) -> float:
        return float(energy[energy <= limit_mwh].sum()) / total if total > 0 else 0.0

    return ErrorStatistics(
        quarters=int(e.size),
        skipped_quarters=int(errors.error_mw.size - e.size),
        share_quarters_within_5mw=_share(np.abs(e) <= 5.0),
        runs=int(runs.quarters.size),
        share_runs_within_2mwh=_share(energy <= 2.0),
        share_runs_under_60min=_share(runs.quarters < 4),
        energy_share_runs_under_2mwh=energy_share(2.0),
        energy_share_runs_under_5mwh=energy_share(5.0),
        imbalance_mwh=total,
    )
