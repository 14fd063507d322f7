"""``truth.csv``: round trip and errors that name the row and the rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from goflex.doms.scenario_files import GridSeries, ScenarioError
from goflex.doms.truth_file import Truth, format_truth_csv, parse_truth_csv, read_truth, write_truth


def _grid(rows: int = 6) -> GridSeries:
    return GridSeries(
        time_s=1_451_606_400 + 300 * np.arange(rows, dtype=np.int64),
        load_mw=np.full(rows, 60.0),
        dayahead_mw=np.full(rows, 60.0),
        spot_eur_mwh=np.full(rows, 40.0),
    )


def test_round_trip(tmp_path: Path) -> None:
    grid = _grid()
    truth = Truth(np.linspace(50.0, 60.0, 6), np.array([0.5, -0.25, 0.0, 1.125, -2.0, 0.0]))
    write_truth(tmp_path, grid, truth)
    back = read_truth(tmp_path, grid)
    np.testing.assert_allclose(back.true_load_mw, truth.true_load_mw, atol=1e-4)
    np.testing.assert_allclose(back.noise_mw, truth.noise_mw, atol=1e-4)


def test_missing_file_says_where_one_comes_from(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="goflex doms scenario"):
        read_truth(tmp_path, _grid())


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda lines: ["time,load,noise", *lines[1:]], "row 1"),
        (lambda lines: [lines[0], lines[2], *lines[2:]], "row 2, column 'time'"),
        (lambda lines: [*lines[:3], lines[3].rsplit(",", 1)[0] + ",nan", *lines[4:]], "row 4, column 'noise_mw'"),
        (lambda lines: lines[:-1], "5 rows"),
        (lambda lines: [*lines, lines[-1]], "row 8"),
    ],
)
def test_errors_name_the_row(edit: object, where: str) -> None:
    grid = _grid()
    lines = format_truth_csv(grid, Truth(np.zeros(6), np.zeros(6))).splitlines()
    with pytest.raises(ScenarioError, match=where):
        parse_truth_csv("\n".join(edit(lines)) + "\n", grid)  # type: ignore[operator]
