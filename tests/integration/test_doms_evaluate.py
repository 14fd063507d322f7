"""``goflex doms evaluate`` end to end: a generated pilot scenario, the real command in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from goflex.doms.scenario import ScenarioRequest, generate
from goflex.doms.scenario_files import write_scenario
from goflex.doms.truth_file import Truth, write_truth


def _goflex(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "goflex.cli.main", *args], capture_output=True, text=True, timeout=110, check=False
    )


@pytest.fixture(scope="module")
def pilot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pilot")
    write_scenario(directory, generate(ScenarioRequest(days=1, seed=2, scale="pilot")).scenario)
    return directory


def test_evaluate_prints_the_issue_document_and_the_decisions(pilot: Path, tmp_path: Path) -> None:
    decisions = tmp_path / "decisions.jsonl"
    done = _goflex("doms", "evaluate", str(pilot), "--json", "--decisions", str(decisions), "--horizon-hours", "3")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # stdout is exactly one JSON document (no solver banner)
    assert set(document) == {
        "days",
        "quarters",
        "baseline",
        "doms",
        "oracle",
        "net_saving_pct",
        "oracle_capture_pct",
    }
    assert document["quarters"] == 96
    assert document["doms"]["deadband_activations"] == 0
    assert "oracle" in done.stderr  # the progress bar
    records = [json.loads(line) for line in decisions.read_text().splitlines()]
    assert len(records) == 288  # one per 5-minute point
    assert sum(r["kind"] == "plan" for r in records) == 96


def test_a_broken_fleet_file_is_named(pilot: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "grid.csv").write_text((pilot / "grid.csv").read_text())
    fleet = json.loads((pilot / "fleet.json").read_text())
    fleet["groups"][0]["volume_l"] = -5
    (broken / "fleet.json").write_text(json.dumps(fleet))
    done = _goflex("doms", "evaluate", str(broken), "--json")
    assert done.returncode == 2
    assert "groups[0].volume_l" in done.stderr
    assert done.stdout == ""


def test_a_bound_needs_the_truth_file(pilot: Path) -> None:
    done = _goflex("doms", "evaluate", str(pilot), "--json", "--forecast", "level-now")
    assert done.returncode == 2
    assert "truth.csv" in done.stderr
    assert done.stdout == ""
    done = _goflex("doms", "evaluate", str(pilot), "--json", "--perfect-hours", "2")
    assert done.returncode == 2
    assert "--forecast perfect" in done.stderr


def test_the_perfect_smooth_bound_runs_on_a_generated_scenario(tmp_path: Path) -> None:
    generated = generate(ScenarioRequest(days=1, seed=2, scale="pilot"))
    write_scenario(tmp_path, generated.scenario)
    write_truth(tmp_path, generated.scenario.grid, Truth(generated.true_load_mw, generated.noise_mw))
    done = _goflex("doms", "evaluate", str(tmp_path), "--json", "--forecast", "perfect-smooth", "--quiet")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["doms"]["deadband_activations"] == 0
    assert document["doms"]["comfort_violation_device_minutes"] == 0
