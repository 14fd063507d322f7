"""HouseSpec: the rules of seed 3.2.5.4 hold for every generated house; JSON and TOML round trips."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.twin.fleet_generator import PILOT_MIX, make_house, pilot_fleet
from goflex.twin.house import (
    DeviceCounts,
    HouseSpec,
    HouseSpecError,
    Load,
    Technology,
    fleet_from_toml,
    fleet_to_toml,
)

houses = st.builds(
    lambda kind, seed, pv, number: make_house(number, kind, np.random.default_rng(seed), pv=pv),
    st.sampled_from(PILOT_MIX),
    st.integers(0, 2**32),
    st.booleans(),
    st.integers(1, 999),
)


@settings(max_examples=200, deadline=None)
@given(house=houses)
def test_any_generated_house_follows_seed_3_2_5_4(house: HouseSpec) -> None:
    assert (house.devices.ambient_sensors >= 1) == (house.space_heating is not Technology.NONE)
    assert house.devices.boiler_sensors <= (1 if house.dhw is not Technology.NONE else 0)
    metered = {c.load for c in house.clamps}
    assert set(house.system_loads) <= metered
    for load in house.system_loads:
        assert sum(c.share for c in house.clamps if c.load is load) == pytest.approx(1.0)
    assert house.devices.power_meters >= len(house.system_loads)
    relays = {house.space_heating_relay, house.dhw_relay} - {None}
    assert len(relays) == (1 if house.common_system else len(house.system_loads))
    assert house.name == f"goflex-dc-{house.number:03d}"


@settings(max_examples=100, deadline=None)
@given(house=houses)
def test_json_and_toml_round_trip(house: HouseSpec) -> None:
    assert HouseSpec.from_json(house.to_json()) == house
    assert fleet_from_toml(fleet_to_toml([house, house])) == [house, house]


def test_rules_are_enforced() -> None:
    house = pilot_fleet(40, seed=1)
    electric_sh = next(h for h in house if h.space_heating is not Technology.NONE)
    with pytest.raises(HouseSpecError, match="room sensor"):
        replace(electric_sh, devices=replace(electric_sh.devices, ambient_sensors=0))
    boiler_only = next(h for h in house if h.space_heating is Technology.NONE)
    with pytest.raises(HouseSpecError, match="room sensor"):
        replace(boiler_only, devices=replace(boiler_only.devices, ambient_sensors=1))
    with pytest.raises(HouseSpecError, match="tank sensor"):
        replace(boiler_only, devices=replace(boiler_only.devices, boiler_sensors=2))
    with pytest.raises(HouseSpecError, match="sub-meter"):
        replace(boiler_only, devices=DeviceCounts(0, 1, 0), clamps=())
    with pytest.raises(HouseSpecError, match="all of its power"):
        replace(boiler_only, clamps=boiler_only.clamps[:1] if len(boiler_only.clamps) > 1 else ())
    with pytest.raises(HouseSpecError, match="relay"):
        replace(boiler_only, dhw_relay=None)
    with pytest.raises(HouseSpecError, match="unreadable"):
        HouseSpec.from_json('{"number": 1}')


def test_pilot_mix_matches_the_shares() -> None:
    fleet = pilot_fleet(200, seed=4)
    counts = Counter((h.space_heating, h.dhw, h.common_system) for h in fleet)
    for kind in PILOT_MIX:
        assert counts[(kind.space_heating, kind.dhw, kind.common_system)] == round(kind.share * 200)
    assert sum(h.pv_kwp > 0 for h in fleet) == 40
    assert all(any(c.load is Load.PV for c in h.clamps) for h in fleet if h.pv_kwp > 0)
    assert [h.number for h in fleet] == list(range(1, 201))
    assert pilot_fleet(200, seed=4) == fleet
    assert pilot_fleet(200, seed=5) != fleet
