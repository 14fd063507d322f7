"""grid.csv and fleet.json: round trips, and every error names its row/column or key."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.doms.scenario_files import (
    Fleet,
    GridSeries,
    Scenario,
    ScenarioError,
    fleet_from_json,
    fleet_to_json,
    format_grid_csv,
    parse_grid_csv,
    read_scenario,
    write_scenario,
)

T0 = 1451606400  # 2016-01-01T00:00:00Z
GOOD = """time,load_mw,dayahead_mw,spot_eur_mwh
2016-01-01T00:00:00Z,60.5,61,40
2016-01-01T00:05:00Z,60.7,61,40
2016-01-01T00:10:00Z,60.2,61,40
2016-01-01T00:15:00Z,62.0,63,41.5
2016-01-01T00:20:00Z,62.1,63,41.5
2016-01-01T00:25:00Z,62.2,63,41.5
"""
ISSUE_FLEET: dict[str, Any] = {
    "seed": 1,
    "groups": [
        {
            "type": "water_heater",
            "count": 759,
            "power_kw": 6.0,
            "volume_l": 300,
            "setpoint_c": 60,
            "deadband_k": 6,
            "min_temp_c": 45,
            "ua_w_per_k": 2.5,
            "persons": [1, 5],
        },
        {
            "type": "heat_pump",
            "count": 1287,
            "thermal_kw": 8.0,
            "h_w_per_k": 180,
            "c_kwh_per_k": 9.0,
            "comfort_c": [19.5, 22.0],
        },
        {
            "type": "direct_heating",
            "count": 1076,
            "power_kw": 3.4,
            "h_w_per_k": 150,
            "c_kwh_per_k": 7.0,
            "comfort_c": [19.5, 22.0],
        },
    ],
}


def _grid(prices: bool) -> GridSeries:
    n = 6
    return GridSeries(
        time_s=T0 + 300 * np.arange(n, dtype=np.int64),
        load_mw=np.array([60.5, np.nan, 60.25, -1.5, 62.125, 62.0]),
        dayahead_mw=np.repeat([61.0, 63.5], 3),
        spot_eur_mwh=np.repeat([40.0, -5.25], 3),
        price_short_eur_mwh=np.repeat([44.0, 10.0], 3) if prices else None,
        price_long_eur_mwh=np.repeat([36.0, -20.0], 3) if prices else None,
    )


@pytest.mark.parametrize("prices", [False, True])
def test_grid_round_trip(prices: bool) -> None:
    grid = _grid(prices)
    back = parse_grid_csv(format_grid_csv(grid))
    assert back.load_gaps == 1
    assert back.has_imbalance_prices is prices
    for name in ("time_s", "load_mw", "dayahead_mw", "spot_eur_mwh", "price_short_eur_mwh", "price_long_eur_mwh"):
        np.testing.assert_array_equal(getattr(back, name), getattr(grid, name))


def test_issue_fleet_example_round_trips(tmp_path: Path) -> None:
    fleet = fleet_from_json(ISSUE_FLEET)
    assert (fleet.count("water_heater"), fleet.count("heat_pump"), fleet.count("direct_heating")) == (759, 1287, 1076)
    assert fleet_from_json(fleet_to_json(fleet)) == fleet
    write_scenario(tmp_path / "s", Scenario(grid=_grid(True), fleet=fleet))
    again = read_scenario(tmp_path / "s")
    assert again.fleet == fleet
    np.testing.assert_array_equal(again.grid.load_mw, _grid(True).load_mw)


def test_bad_load_values_are_data() -> None:
    text = GOOD.replace("60.7", "ERR").replace("62.1", "").replace("62.2", "inf")
    grid = parse_grid_csv(text)
    assert (grid.load_gaps, grid.load_unparsable) == (1, 2)
    assert np.isnan(grid.load_mw).sum() == 3


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (GOOD.replace("spot_eur_mwh", "spot"), "row 1, column 4", "unknown column 'spot'"),
        (GOOD.replace(",spot_eur_mwh", "").replace(",40\n", "\n").replace(",41.5\n", "\n"), "row 1", "spot_eur_mwh"),
        (GOOD.replace("spot_eur_mwh", "spot_eur_mwh,price_short_eur_mwh"), "row 1", "price_long_eur_mwh"),
        (GOOD.replace("61,40\n2016-01-01T00:05", "61,x\n2016-01-01T00:05"), "row 2, column 'spot_eur_mwh'", "number"),
        (GOOD.replace("60.7,61", "60.7,nan"), "row 3, column 'dayahead_mw'", "finite"),
        (GOOD.replace("00:10:00Z", "00:20:00Z"), "row 4, column 'time'", "5 minutes"),
        (GOOD.replace("00:10:00Z", "00:00:00Z"), "row 4, column 'time'", "unsorted"),
        (GOOD.replace("00:05:00Z", "00:05:00+01:00"), "row 3, column 'time'", "UTC"),
        (GOOD.replace("00:05:00Z", "00:06:00Z"), "row 3, column 'time'", "5-minute"),
        (GOOD.replace("00:05:00Z", "yesterday"), "row 3, column 'time'", "ISO 8601"),
        (GOOD.replace("60.5,61,40", "60.5,61"), "row 2", "3 fields"),
        (GOOD.replace("62.2,63", "62.2,64"), "rows 5-7, column 'dayahead_mw'", "constant"),
        ("\n".join(GOOD.splitlines()[:6]) + "\n", "row 6", "whole quarter"),
        ("\n".join(GOOD.splitlines()[0:1] + GOOD.splitlines()[2:]) + "\n", "row 2, column 'time'", "quarter hour"),
    ],
)
def test_grid_errors_name_row_and_column(text: str, where: str, words: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_grid_csv(text)
    assert info.value.where == where
    assert words in str(info.value)


def _broken(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    document = copy.deepcopy(ISSUE_FLEET)
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "where", "words"),
    [
        (("colour",), "red", "colour", "unknown key"),
        (("groups", 0, "colour"), "red", "groups[0].colour", "unknown key"),
        (("groups", 0, "count"), -1, "groups[0].count", "below 0"),
        (("groups", 0, "count"), 2.5, "groups[0].count", "not an integer"),
        (("groups", 0, "count"), True, "groups[0].count", "not an integer"),
        (("groups", 0, "min_temp_c"), 61, "groups[0].min_temp_c", "not below the set point"),
        (("groups", 0, "min_temp_c"), 56, "groups[0].min_temp_c", "cut-in"),
        (("groups", 0, "power_kw"), 0, "groups[0].power_kw", "> 0"),
        (("groups", 0, "persons"), [3, 1], "groups[0].persons", "reversed"),
        (("groups", 0, "persons"), [0, 2], "groups[0].persons", ">= 1"),
        (("groups", 0, "volume_l"), KeyError, "groups[0].volume_l", "missing"),
        (("groups", 1, "comfort_c"), [22.0, 19.5], "groups[1].comfort_c", "reversed"),
        (("groups", 1, "comfort_c"), [20.0], "groups[1].comfort_c", "pair"),
        (("groups", 1, "thermal_kw"), "8", "groups[1].thermal_kw", "not a finite number"),
        (("groups", 2, "type"), "sauna", "groups[2].type", "not one of"),
        (("groups", 2, "c_kwh_per_k"), -7, "groups[2].c_kwh_per_k", "> 0"),
        (("seed",), KeyError, "seed", "missing"),
        (("scale",), "city", "scale", "not one of"),
        (("groups",), {}, "groups", "list"),
    ],
)
def test_fleet_errors_name_the_key(path: tuple[str | int, ...], value: object, where: str, words: str) -> None:
    with pytest.raises(ScenarioError) as info:
        fleet_from_json(_broken(path, value))
    assert info.value.where == where
    assert words in str(info.value)


def test_missing_files_and_bad_json_are_scenario_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot be read"):
        read_scenario(tmp_path)
    (tmp_path / "grid.csv").write_text(GOOD, encoding="utf-8")
    (tmp_path / "fleet.json").write_text("{", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not JSON"):
        read_scenario(tmp_path)
    (tmp_path / "fleet.json").write_text(json.dumps(ISSUE_FLEET), encoding="utf-8")
    assert isinstance(read_scenario(tmp_path).fleet, Fleet)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789:-TZ.,xe \n", max_size=30), max_size=8))
def test_parser_succeeds_or_raises_its_error(rows: list[str]) -> None:
    with contextlib.suppress(ScenarioError):
        parse_grid_csv("time,load_mw,dayahead_mw,spot_eur_mwh\n" + "\n".join(rows))


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12))  # fmt: skip
def test_fleet_reader_succeeds_or_raises_its_error(document: object) -> None:
    with contextlib.suppress(ScenarioError):
        fleet_from_json(document)
