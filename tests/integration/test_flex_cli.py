"""``goflex flex aggregate | disaggregate | measure`` on the reference example of flexoffer.md, through main()."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from goflex.cli.main import main
from goflex.flex import loads, parse_schedule, validate_schedule

REFERENCE: dict[str, Any] = {
    "id": "fo-1",
    "state": "offered",
    "offeredById": "goflex-dc-004",
    "creationTime": "2026-01-22T05:00:00Z",
    "acceptBeforeTime": "2026-01-22T07:45:00Z",
    "assignmentBeforeTime": "2026-01-22T08:45:00Z",
    "startAfterTime": "2026-01-22T09:00:00Z",
    "startBeforeTime": "2026-01-22T13:00:00Z",
    "numSecondsPerInterval": 900,
    "flexOfferProfileConstraints": [
        {
            "minDuration": 2,
            "maxDuration": 2,
            "energyConstraintList": [{"lower": 0.0, "upper": 1.5}],
            "tariffConstraint": {"minTariff": -0.06, "maxTariff": 0.06},
        },
        {"minDuration": 2, "maxDuration": 2, "energyConstraintList": [{"lower": 0.5, "upper": 1.5}]},
    ],
    "totalEnergyConstraint": {"lower": 3.0, "upper": 5.0},
    "defaultSchedule": {
        "startTime": "2026-01-22T09:00:00Z",
        "scheduleSlices": [{"duration": 2, "energyAmount": 1.5}, {"duration": 2, "energyAmount": 1.0}],
    },
}


@pytest.fixture
def offers(tmp_path: Path) -> Path:
    second = copy.deepcopy(REFERENCE)
    second.update(id="fo-2", offeredById="goflex-dc-005")
    del second["totalEnergyConstraint"]
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"flexOffer": [REFERENCE, second]}), encoding="utf-8")
    return path


def test_aggregate_then_disaggregate_gives_valid_member_schedules(offers: Path, tmp_path: Path) -> None:
    agg_path, out_path, schedules_path = tmp_path / "agg.json", tmp_path / "out.json", tmp_path / "schedules.json"
    assert main(["flex", "aggregate", str(offers), "-o", str(agg_path)]) == 0
    document = json.loads(agg_path.read_text(encoding="utf-8"))
    [aggregate] = document["flexOffer"]
    assert document["members"] == {aggregate["id"]: ["fo-1", "fo-2"]}
    assert document["offsets"] == {aggregate["id"]: {"fo-1": 0, "fo-2": 0}}
    # Per interval the members' bounds add up: [0, 0.375] + [0, 0.375] (first slice over 2 intervals) etc.;
    # fo-1's total-energy constraint tightens its own bounds first (see goflex.flex.aggregation).
    assert len(aggregate["flexOfferProfileConstraints"]) == 4
    schedule = {
        "startTime": "2026-01-22T10:00:00Z",
        "scheduleSlices": [
            {"duration": 1, "energyAmount": 1.0},
            {"duration": 1, "energyAmount": 1.0},
            {"duration": 1, "energyAmount": 1.25},
            {"duration": 1, "energyAmount": 1.25},
        ],
    }
    schedules_path.write_text(json.dumps({"schedules": {aggregate["id"]: schedule}}), encoding="utf-8")

    assert main(["flex", "disaggregate", str(agg_path), str(schedules_path), "-o", str(out_path)]) == 0

    members = json.loads(out_path.read_text(encoding="utf-8"))["schedules"]
    assert set(members) == {"fo-1", "fo-2"}
    by_id = {o.id: o for o in loads(offers.read_text(encoding="utf-8"))}
    total = 0.0
    for member_id, value in members.items():
        member_schedule = parse_schedule(value)
        assert validate_schedule(by_id[member_id], member_schedule) == []
        assert member_schedule.start_time.isoformat() == "2026-01-22T10:00:00+00:00"
        total += sum(s.energy_amount for s in member_schedule.slices)
    assert total == pytest.approx(4.5)


def test_an_invalid_aggregate_schedule_is_refused_with_a_clear_message(
    offers: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agg_path, schedules_path = tmp_path / "agg.json", tmp_path / "schedules.json"
    assert main(["flex", "aggregate", str(offers), "-o", str(agg_path)]) == 0
    agg_id = json.loads(agg_path.read_text(encoding="utf-8"))["flexOffer"][0]["id"]
    late = {"startTime": "2026-01-22T14:00:00Z", "scheduleSlices": [{"duration": 1, "energyAmount": 1.0}] * 4}
    schedules_path.write_text(json.dumps({"schedules": {agg_id: late}}), encoding="utf-8")
    code = main(["flex", "disaggregate", str(agg_path), str(schedules_path), "-o", str(tmp_path / "out.json")])
    assert code == 2
    assert "goflex: error:" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


def test_measure_prints_the_reference_example_s_figures(offers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flex", "measure", str(offers), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["measures"][0]
    assert first["id"] == "fo-1"
    assert first["timeFlexibilityIntervals"] == 16  # 09:00 .. 13:00 in 15-min intervals
    assert first["energyFlexibilityKwh"] == pytest.approx(2.5)  # (1.5 - 0) + (1.5 - 0.5)
    assert first["productFlexibility"] == pytest.approx(40.0)


def test_an_invalid_offer_names_its_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = copy.deepcopy(REFERENCE)
    bad["startBeforeTime"] = "2026-01-22T08:00:00Z"  # LST before EST
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"flexOffer": [bad]}), encoding="utf-8")
    assert main(["flex", "aggregate", str(path), "-o", str(tmp_path / "agg.json")]) == 2
    assert "startBeforeTime" in capsys.readouterr().err


def test_baseline_alignment_places_members_on_their_baselines(tmp_path: Path) -> None:
    # fo-2 plans to start an hour after its EST; aligned on baselines, it sits 4 intervals after fo-1.
    second = copy.deepcopy(REFERENCE)
    second.update(id="fo-2")
    second["defaultSchedule"]["startTime"] = "2026-01-22T10:00:00Z"
    offers_path, agg_path = tmp_path / "in.json", tmp_path / "agg.json"
    offers_path.write_text(json.dumps({"flexOffer": [REFERENCE, second]}), encoding="utf-8")
    args = ["flex", "aggregate", str(offers_path), "-o", str(agg_path), "--est-tolerance", "8"]
    assert main([*args, "--alignment", "baseline"]) == 0
    document = json.loads(agg_path.read_text(encoding="utf-8"))
    [aggregate] = document["flexOffer"]
    assert document["offsets"][aggregate["id"]] == {"fo-1": 0, "fo-2": 4}
    assert aggregate["startAfterTime"] == "2026-01-22T09:00:00Z"
    assert aggregate["startBeforeTime"] == "2026-01-22T12:00:00Z"  # fo-2 can move 3 h from its baseline
    assert aggregate["defaultSchedule"]["startTime"] == "2026-01-22T09:00:00Z"
    assert len(aggregate["flexOfferProfileConstraints"]) == 8

    middle = [
        (s["energyConstraintList"][0]["lower"] + s["energyConstraintList"][0]["upper"]) / 2
        for s in aggregate["flexOfferProfileConstraints"]
    ]
    schedule = {
        "startTime": "2026-01-22T09:30:00Z",
        "scheduleSlices": [{"duration": 1, "energyAmount": x} for x in middle],
    }
    schedules_path, out_path = tmp_path / "schedules.json", tmp_path / "out.json"
    schedules_path.write_text(json.dumps({"schedules": {aggregate["id"]: schedule}}), encoding="utf-8")
    assert main(["flex", "disaggregate", str(agg_path), str(schedules_path), "-o", str(out_path)]) == 0
    members = json.loads(out_path.read_text(encoding="utf-8"))["schedules"]
    assert members["fo-1"]["startTime"] == "2026-01-22T09:30:00Z"
    assert members["fo-2"]["startTime"] == "2026-01-22T10:30:00Z"
    by_id = {o.id: o for o in loads(offers_path.read_text(encoding="utf-8"))}
    for member_id, value in members.items():
        assert validate_schedule(by_id[member_id], parse_schedule(value)) == []

    assert main([*args, "--alignment", "start"]) == 0
    started = json.loads(agg_path.read_text(encoding="utf-8"))
    assert list(started["offsets"].values()) == [{"fo-1": 0, "fo-2": 0}]
