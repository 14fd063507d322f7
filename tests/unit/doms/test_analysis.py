"""The seed 3.3.1 analysis on a hand-made series whose statistics are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from goflex.doms.analysis import error_runs, error_statistics, quarter_errors
from goflex.doms.scenario_files import parse_grid_csv

DAYAHEAD_MW = 50.0
# Quarter errors [MW]; None = no valid load value in the quarter.
ERRORS: list[float | None] = [4, 8, -2, None, -2, 1, 1, 1, 1, 0, -24]


def _grid_text() -> str:
    lines = ["time,load_mw,dayahead_mw,spot_eur_mwh"]
    for q, e in enumerate(ERRORS):
        for k in range(3):
            minute = 15 * q + 5 * k
            if e is None:
                load = ""
            elif q == len(ERRORS) - 1 and k == 1:
                load = "ERR"  # a bad value in the last quarter: skipped, the mean is over the two others
            else:
                load = f"{DAYAHEAD_MW + e}"
            lines.append(f"2016-01-01T{minute // 60:02d}:{minute % 60:02d}:00Z,{load},{DAYAHEAD_MW},40")
    return "\n".join(lines) + "\n"


def test_quarter_errors_skip_gaps_and_bad_values() -> None:
    grid = parse_grid_csv(_grid_text())
    assert (grid.load_gaps, grid.load_unparsable) == (3, 1)
    errors = quarter_errors(grid)
    expected = [math.nan if e is None else e for e in ERRORS]
    np.testing.assert_allclose(errors.error_mw, expected)


def test_runs_by_hand() -> None:
    runs = error_runs(quarter_errors(parse_grid_csv(_grid_text())))
    # + (4, 8) | - (-2) | gap | - (-2) | + (1, 1, 1, 1, 0: zero counts as positive) | - (-24)
    assert runs.quarters.tolist() == [2, 1, 1, 5, 1]
    np.testing.assert_allclose(runs.energy_mwh, [3.0, -0.5, -0.5, 1.0, -6.0])
    np.testing.assert_allclose(runs.duration_min, [30, 15, 15, 75, 15])
    assert runs.start_s.tolist() == [1451606400 + 900 * q for q in (0, 2, 4, 5, 10)]


def test_statistics_by_hand() -> None:
    stats = error_statistics(quarter_errors(parse_grid_csv(_grid_text())))
    assert stats.quarters == 10
    assert stats.skipped_quarters == 1
    assert stats.share_quarters_within_5mw == pytest.approx(8 / 10)  # all but 8 and -24
    assert stats.runs == 5
    assert stats.share_runs_within_2mwh == pytest.approx(3 / 5)  # 0.5, 0.5, 1.0
    assert stats.share_runs_under_60min == pytest.approx(4 / 5)  # all but the 75-minute run
    assert stats.energy_share_runs_under_2mwh == pytest.approx(2 / 11)  # (0.5 + 0.5 + 1) / 11
    assert stats.energy_share_runs_under_5mwh == pytest.approx(5 / 11)  # (3 + 2) / 11
    assert stats.imbalance_mwh == pytest.approx(11.0)
    assert list(stats.to_json())[:7] == [
        "quarters",
        "share_quarters_within_5mw",
        "runs",
        "share_runs_within_2mwh",
        "share_runs_under_60min",
        "energy_share_runs_under_2mwh",
        "energy_share_runs_under_5mwh",
    ]


def test_a_series_without_any_load_has_no_runs() -> None:
    text = "time,load_mw,dayahead_mw,spot_eur_mwh\n" + "".join(
        f"2016-01-01T00:{m:02d}:00Z,,50,40\n" for m in (0, 5, 10)
    )
    stats = error_statistics(quarter_errors(parse_grid_csv(text)))
    assert (stats.quarters, stats.skipped_quarters, stats.runs, stats.energy_share_runs_under_2mwh) == (0, 1, 0, 0.0)
