"""The figures of the seed's forecast-error analysis as PNG files and an HTML page (seed 3.3.1, Figures 51-55).

Writes files (matplotlib with the Agg backend, no display needed); the numbers come from
:mod:`goflex.doms.analysis`.
"""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from goflex.doms.analysis import SEED_2016, ErrorStatistics, QuarterErrors, Runs

FIGURES = (
    ("error_histogram.png", "Distribution of the forecast error per quarter hour (seed Figure 51)"),
    ("run_energy_histogram.png", "Energy of the error runs (seed Figure 52)"),
    ("run_duration_histogram.png", "Duration of the error runs (seed Figure 53)"),
    ("energy_share.png", "Share of the imbalance energy held by runs up to a given energy (seed Figure 54)"),
    ("energy_vs_duration.png", "Energy against duration of the error runs (seed Figure 55)"),
)


def _save(fig: Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_figures(directory: Path, errors: QuarterErrors, runs: Runs) -> list[Path]:
    """Write the five PNG figures into ``directory``; returns their paths."""
    e = errors.error_mw[np.isfinite(errors.error_mw)]
    energy = runs.energy_mwh
    paths = [directory / name for name, _ in FIGURES]

    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.arange(np.floor(min(e.min(initial=-1.0), -5.0)) - 0.5, np.ceil(max(e.max(initial=1.0), 5.0)) + 1.5)
    ax.hist(e, bins=bins.tolist(), weights=np.full(e.size, 1.0 / max(e.size, 1)), color="tab:blue")
    ax.set(xlabel="error = load - day-ahead [MW]", ylabel="fraction of all quarters")
    _save(fig, paths[0])

    fig, ax = plt.subplots(figsize=(7, 4))
    energy_bins = np.arange(np.floor(energy.min(initial=-1.0)) - 0.5, np.ceil(energy.max(initial=1.0)) + 1.5)
    ax.hist(energy, bins=energy_bins.tolist())
    ax.set(xlabel="run energy [MWh]", ylabel="runs")
    _save(fig, paths[1])

    fig, ax = plt.subplots(figsize=(7, 4))
    hours = runs.duration_min / 60.0
    ax.hist(hours, bins=np.arange(0.125, hours.max(initial=1.0) + 0.5, 0.25).tolist())
    ax.set(xlabel="run duration [h]", ylabel="runs")
    _save(fig, paths[2])

    fig, ax = plt.subplots(figsize=(7, 4))
    magnitude = np.sort(np.abs(energy))
    total = float(magnitude.sum())
    ax.plot(magnitude, np.cumsum(magnitude) / total if total > 0 else magnitude * 0.0)
    ax.axvline(2.0, color="grey", linestyle=":")
    ax.axvline(5.0, color="grey", linestyle=":")
    ax.set(xlabel="run |energy| up to [MWh]", ylabel="share of the imbalance energy")
    _save(fig, paths[3])

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(runs.duration_min / 60.0, np.abs(energy), s=4, alpha=0.4)
    ax.set(xlabel="run duration [h]", ylabel="run |energy| [MWh]")
    _save(fig, paths[4])
    return paths


def write_page(path: Path, stats: ErrorStatistics, *, source: str) -> None:
    """Write an HTML page with the statistics (beside the seed's 2016 values) and the figures."""
    ours = stats.to_json()
    rows = "\n".join(
        f"<tr><td>{html.escape(key)}</td><td>{ours[key]}</td><td>{seed}</td></tr>" for key, seed in SEED_2016.items()
    )
    images = "\n".join(
        f'<figure><img src="{name}" alt="{html.escape(title)}"><figcaption>{html.escape(title)}</figcaption></figure>'
        for name, title in FIGURES
    )
    path.write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Forecast error analysis</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:auto}}td,th{{padding:0.2em 1em}}</style></head>
<body><h1>Day-ahead forecast error: {html.escape(source)}</h1>
<p>Error = load - day-ahead per quarter hour (positive: short). Shares are fractions 0..1.</p>
<table><tr><th>statistic</th><th>this series</th><th>seed, ESR 2016</th></tr>
{rows}
</table>
{images}
</body></html>
""",
        encoding="utf-8",
    )
