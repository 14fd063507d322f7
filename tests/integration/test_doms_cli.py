"""``goflex doms scenario`` then ``goflex doms analyze`` through main(), and bad input ending with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from goflex.cli.main import main
from goflex.doms.scenario_files import read_scenario
from goflex.doms.truth_file import read_truth


def test_scenario_then_analyze(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pilot"
    assert main(["doms", "scenario", "--days", "7", "--seed", "3", "--scale", "pilot", "-o", str(out)]) == 0
    scenario = read_scenario(out)
    assert scenario.grid.quarters == 7 * 96
    assert scenario.fleet.houses == 200
    assert scenario.fleet.scale == "pilot"
    assert set(json.loads((out / "defects.json").read_text(encoding="utf-8"))) == {"missing", "stuck", "spikes"}
    truth = read_truth(out, scenario.grid)  # the generator's knowledge, for the evaluation's bounds
    live = scenario.grid.load_mw
    good = np.isfinite(live)
    assert np.median(np.abs(live[good] - truth.true_load_mw[good])) < 1e-3  # defects aside, the same load
    first = (out / "grid.csv").read_bytes()
    again = tmp_path / "again"
    assert main(["doms", "scenario", "--days", "7", "--seed", "3", "--scale", "pilot", "-o", str(again)]) == 0
    assert (again / "grid.csv").read_bytes() == first
    capsys.readouterr()

    report = tmp_path / "report"
    assert main(["doms", "analyze", str(out / "grid.csv"), "-o", str(report), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    stats = json.loads((report / "stats.json").read_text(encoding="utf-8"))
    assert printed == stats
    assert stats["quarters"] + stats["skipped_quarters"] == 7 * 96
    assert 0 < stats["runs"] <= stats["quarters"]
    for key in ("share_quarters_within_5mw", "share_runs_within_2mwh", "share_runs_under_60min"):
        assert 0.0 <= stats[key] <= 1.0
    page = (report / "index.html").read_text(encoding="utf-8")
    for png in ("error_histogram.png", "run_energy_histogram.png", "energy_vs_duration.png"):
        assert (report / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'src="{png}"' in page


def test_territory_with_all_receivers(tmp_path: Path) -> None:
    out = tmp_path / "all"
    assert main(["doms", "scenario", "--days", "1", "--scale", "territory", "--receivers", "all", "-o", str(out)]) == 0
    assert read_scenario(out).fleet.houses == 11_687


def test_bad_input_names_the_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grid = tmp_path / "grid.csv"
    grid.write_text("time,load_mw,dayahead_mw,spot_eur_mwh\n2016-01-01T00:00:00Z,1,2,x\n", encoding="utf-8")
    assert main(["doms", "analyze", str(grid), "-o", str(tmp_path / "r")]) == 2
    assert "row 2, column 'spot_eur_mwh'" in capsys.readouterr().err
    assert main(["doms", "analyze", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "r")]) == 2
    assert main(["doms", "scenario", "--days", "1", "--scale", "pilot", "--receivers", "all", "-o", str(tmp_path)]) == 2
    assert "territory" in capsys.readouterr().err
