"""``truth.csv``: what only a scenario's generator knows about its load, for the evaluation's bounds.

``goflex doms scenario`` writes, next to ``grid.csv``, the live load *before* its defects and the part of it that
no intraday forecast can know even in principle (the short drift and the white noise of each 5-minute value,
:meth:`goflex.doms.forecast_error.ResidualParts.noise_mw`). ``goflex doms evaluate --forecast perfect-smooth`` and
``--forecast level-now`` read it to measure how much of the oracle's gain a forecaster could reach at best
(:mod:`goflex.doms.forecast.bounds`). A real balance group has no such file: the default evaluation never
reads it.

Format: a header ``time,true_load_mw,noise_mw``, then one row per row of ``grid.csv``, same times. Errors name
the file, the row and the rule (:class:`goflex.doms.scenario_files.ScenarioError`). This is the format module
(reading and writing only).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from goflex.doms.scenario_files import GridSeries, ScenarioError, format_time, parse_number

TRUTH_FILE: Final = "truth.csv"
COLUMNS: Final = ("time", "true_load_mw", "noise_mw")


@dataclass(frozen=True, eq=False)
class Truth:
    """The generator's knowledge of the load, one value per ``grid.csv`` row.

    Attributes:
        true_load_mw: the live load before defects [MW].
        noise_mw: its unforecastable part (short drift and white noise) [MW].
    """

    true_load_mw: NDArray[np.float64]
    noise_mw: NDArray[np.float64]


def format_truth_csv(grid: GridSeries, truth: Truth) -> str:
    """The text of a ``truth.csv`` for ``grid`` (same rows)."""
    if truth.true_load_mw.size != grid.time_s.size or truth.noise_mw.size != grid.time_s.size:
        raise ValueError("truth and grid must have the same number of rows")
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    for t, load, noise in zip(grid.time_s, truth.true_load_mw, truth.noise_mw, strict=True):
        out.write(f"{format_time(int(t))},{load:.4f},{noise:.4f}\n")
    return out.getvalue()


def write_truth(directory: Path, grid: GridSeries, truth: Truth) -> Path:
    """Write ``truth.csv`` into ``directory``; returns its path."""
    path = directory / TRUTH_FILE
    path.write_text(format_truth_csv(grid, truth), encoding="utf-8")
    return path


def parse_truth_csv(text: str, grid: GridSeries, *, path: str = TRUTH_FILE) -> Truth:
    """Parse a ``truth.csv`` that belongs to ``grid``.

    Raises:
        ScenarioError: wrong header, a row whose time differs from ``grid.csv``'s row, a value that is not a
            finite number, or a different number of rows.
    """
    reader = csv.reader(io.StringIO(text))
    header = [c.strip() for c in next(reader, [])]
    if tuple(header) != COLUMNS:
        raise ScenarioError(path, "row 1", f"header must be {','.join(COLUMNS)}, found {','.join(header)!r}")
    loads: list[float] = []
    noises: list[float] = []
    for line, row in enumerate(reader, start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        i = len(loads)
        if len(row) != len(COLUMNS):
            raise ScenarioError(path, f"row {line}", f"{len(row)} fields, expected {len(COLUMNS)}")
        if i >= grid.time_s.size:
            raise ScenarioError(path, f"row {line}", f"more rows than grid.csv ({grid.time_s.size})")
        expected = format_time(int(grid.time_s[i]))
        if row[0].strip() != expected:
            raise ScenarioError(path, f"row {line}, column 'time'", f"{row[0]!r}: grid.csv has {expected} here")
        loads.append(parse_number(row[1], f"row {line}, column 'true_load_mw'", path))
        noises.append(parse_number(row[2], f"row {line}, column 'noise_mw'", path))
    if len(loads) != grid.time_s.size:
        raise ScenarioError(path, "", f"{len(loads)} rows, grid.csv has {grid.time_s.size}")
    return Truth(np.asarray(loads, dtype=np.float64), np.asarray(noises, dtype=np.float64))


def read_truth(directory: Path, grid: GridSeries) -> Truth:
    """Read ``directory``/truth.csv for ``grid``.

    Raises:
        ScenarioError: the file is missing, unreadable or breaks the format.
    """
    path = directory / TRUTH_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            str(path), "", f"cannot be read ({exc}); only generated scenarios have one (goflex doms scenario)"
        ) from exc
    return parse_truth_csv(text, grid, path=str(path))
