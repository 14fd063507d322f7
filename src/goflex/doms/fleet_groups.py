"""The flexible fleet of a scenario as groups of alike devices (pure; seed 2.2.1, physics-and-grid.md 1-3).

* ``pilot``: the 200 Direct Control houses of :func:`goflex.twin.fleet_generator.pilot_fleet`.
* ``territory``: ESR's registered flexible loads (seed 2.2.1): 1,287 heat pumps (3.66 MW), 759 boilers
  (3.89 MW, mostly 6 kW) and 1,076 direct electric heaters (3.7 MW); half of the boilers sit next to a heat
  pump and a fifth next to a heater, as in :func:`goflex.twin.fleet_generator.territory_fleet`.
* ``territory`` with all receivers: every device of the 11,687 ripple-control houses of
  :func:`goflex.twin.fleet_generator.territory_fleet` (84 MW installed).

Devices are drawn house by house with the twin's generator, then binned: water heaters by rated power (the
heat-pump water heaters of under 1.5 kW apart), heat pumps and heaters by power quartile. A group carries its
members' mean values; a common system (one heater for rooms and tank) counts as its space heating.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from goflex.doms.scenario_files import DeviceGroup, DirectHeatingGroup, Fleet, HeatPumpGroup, WaterHeaterGroup
from goflex.twin.fleet_generator import (
    BOILER_POWER_P,
    BOILER_POWERS_W,
    HP_RATED_COP,
    REGISTERED_BOILERS,
    REGISTERED_HEAT_PUMPS,
    REGISTERED_HEATERS,
    HouseType,
    make_house,
    pilot_fleet,
    territory_fleet,
)
from goflex.twin.house import HouseSpec, Technology

COMFORT_C: Final = (19.5, 22.0)  # 20 +/- 1 C with the thermostats' bands (physics-and-grid.md 3)
SETPOINT_C: Final = 60.0  # physics-and-grid.md 2: set point 55-65 C, dead band 5-10 K
DEADBAND_K: Final = 6.0
MIN_TEMP_C: Final = 45.0  # below this, hot water is no longer comfortable (and legionella rules apply)
PILOT_HOUSES: Final = 200


def _ua_w_per_k(volume_l: float) -> float:
    # 2.5 W/K for 300 L (physics-and-grid.md 2), scaling with the tank's surface (volume^(2/3)).
    scale: float = (volume_l / 300.0) ** (2.0 / 3.0)
    return round(2.5 * scale, 2)


def _water_heaters(houses: Sequence[HouseSpec]) -> list[DeviceGroup]:
    tanks = [h for h in houses if h.electric_dhw and not h.common_system]
    groups: list[DeviceGroup] = []
    classes = sorted({round(h.dhw_power_w / 1000.0) if h.dhw_power_w >= 1500 else 0 for h in tanks})
    for power_class in classes:
        members = [h for h in tanks if (round(h.dhw_power_w / 1000.0) if h.dhw_power_w >= 1500 else 0) == power_class]
        volume = float(np.mean([h.tank_volume_l for h in members]))
        groups.append(
            WaterHeaterGroup(
                count=len(members),
                power_kw=round(float(np.mean([h.dhw_power_w for h in members])) / 1000.0, 2),
                volume_l=round(volume),
                setpoint_c=SETPOINT_C,
                deadband_k=DEADBAND_K,
                min_temp_c=MIN_TEMP_C,
                ua_w_per_k=_ua_w_per_k(volume),
                persons=(min(h.persons for h in members), max(h.persons for h in members)),
                name=f"water_heater_{power_class}kw" if power_class else "heat_pump_water_heater",
            )
        )
    return groups


def _quartiles(values: NDArray[np.float64], parts: int = 4) -> list[NDArray[np.intp]]:
    order = np.argsort(values, kind="stable")
    return [chunk for chunk in np.array_split(order, min(parts, max(values.size, 1))) if chunk.size]


def _space_heating(houses: Sequence[HouseSpec], rng: np.random.Generator) -> list[DeviceGroup]:
    groups: list[DeviceGroup] = []
    for tech in (Technology.HEAT_PUMP, Technology.RESISTIVE):
        members = [h for h in houses if h.space_heating is tech]
        if not members:
            continue
        power_w = np.array([h.space_heating_power_w for h in members])
        loss = np.array([h.building_loss_w_per_k for h in members])
        capacity = rng.uniform(7.0, 11.0, len(members))  # C_b 7-11 kWh/K (physics-and-grid.md 3)
        for k, idx in enumerate(_quartiles(power_w), start=1):
            h_w_per_k = round(float(loss[idx].mean()), 1)
            c_kwh_per_k = round(float(capacity[idx].mean()), 2)
            p_kw = float(power_w[idx].mean()) / 1000.0
            if tech is Technology.HEAT_PUMP:
                thermal = round(p_kw * HP_RATED_COP, 2)
                groups.append(HeatPumpGroup(idx.size, thermal, h_w_per_k, c_kwh_per_k, COMFORT_C, f"heat_pump_q{k}"))
            else:
                groups.append(
                    DirectHeatingGroup(idx.size, round(p_kw, 2), h_w_per_k, c_kwh_per_k, COMFORT_C, f"direct_q{k}")
                )
    return groups


def _scaled_powers(count: int, total_w: float, sd: float, rng: np.random.Generator) -> NDArray[np.float64]:
    raw = rng.lognormal(0.0, sd, count)
    return np.asarray(np.maximum(np.round(raw / raw.sum() * total_w / 50.0) * 50.0, 500.0), dtype=np.float64)


def registered_houses(seed: int) -> list[HouseSpec]:
    """The houses of ESR's registered flexible loads (seed 2.2.1), drawn with the twin's house generator."""
    rng = np.random.default_rng([seed, 0xD035])
    n_hp, hp_w = REGISTERED_HEAT_PUMPS
    n_heat, heat_w = REGISTERED_HEATERS
    n_boil = REGISTERED_BOILERS[0]
    boilers = list(rng.choice(BOILER_POWERS_W, size=n_boil, p=BOILER_POWER_P))
    with_hp, with_heater = n_boil // 2, n_boil // 5
    h, r, none = Technology.HEAT_PUMP, Technology.RESISTIVE, Technology.NONE
    houses: list[HouseSpec] = []
    for i, p in enumerate(_scaled_powers(n_hp, hp_w, 0.35, rng)):
        dhw = boilers.pop() if i < with_hp else None
        kind = HouseType(h, r if dhw else none, False, 0.0)
        houses.append(make_house(len(houses) + 1, kind, rng, space_heating_power_w=float(p), dhw_power_w=dhw))
    for i, p in enumerate(_scaled_powers(n_heat, heat_w, 0.45, rng)):
        dhw = boilers.pop() if i < with_heater else None
        kind = HouseType(r, r if dhw else none, False, 0.0)
        houses.append(make_house(len(houses) + 1, kind, rng, space_heating_power_w=float(p), dhw_power_w=dhw))
    while boilers:
        kind = HouseType(none, r, False, 0.0)
        houses.append(make_house(len(houses) + 1, kind, rng, dhw_power_w=float(boilers.pop())))
    return houses


def fleet_of_houses(houses: Sequence[HouseSpec], *, seed: int, scale: str) -> Fleet:
    """Group the devices of ``houses`` (see the module docstring)."""
    rng = np.random.default_rng([seed, 0xC0DE])
    groups = tuple(_water_heaters(houses) + _space_heating(houses, rng))
    return Fleet(seed=seed, groups=groups, scale=scale, houses=len(houses))


def scenario_fleet(scale: str, *, seed: int, all_receivers: bool = False) -> Fleet:
    """The fleet of a ``pilot`` or ``territory`` scenario.

    Raises:
        ValueError: an unknown scale, or ``all_receivers`` with the pilot.
    """
    if scale == "pilot":
        if all_receivers:
            raise ValueError("--receivers all applies to the territory scale only")
        return fleet_of_houses(pilot_fleet(PILOT_HOUSES, seed=seed), seed=seed, scale=scale)
    if scale == "territory":
        houses = territory_fleet(seed=seed) if all_receivers else registered_houses(seed)
        return fleet_of_houses(houses, seed=seed, scale=scale)
    raise ValueError(f"scale {scale!r} is not pilot or territory")
