"""The fleet's flexibility, from the twin's vectorised physics: what can be shed, for how long, and the rebound.

Pure (numpy and the twin's models). A scenario's ``fleet.json`` groups (:mod:`goflex.doms.scenario_files`)
become individual devices (:func:`build_fleet_model`): water heaters as the twin's two-node tanks
(:mod:`goflex.twin.tank`), heat pumps and direct heaters as 1R1C buildings (:mod:`goflex.twin.space_heating`),
each drawn around its group's values from the fleet's seed.

A device's *headroom* is how long its relay may stay open before its comfort limit (physics-and-grid.md 2-3;
flexoffer.md 2, "comfort first"): tank heat above the minimum temperature over its standby loss and expected
draws, or room heat above the comfort floor over the building's net loss. Devices are put in *classes* by their
typical headroom (blocks of at most 1, 2, 4 or 8 quarters); each (group, class) is one :class:`ShedOffer` whose
capacity per quarter is the class's expected baseline power: steady-state heat demand at the forecast outdoor
temperature over the COP for rooms, standby plus the expected hot-water draw profile for tanks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from goflex.doms.optimiser import ShedOffer
from goflex.doms.scenario_files import DirectHeatingGroup, Fleet, HeatPumpGroup, WaterHeaterGroup
from goflex.twin.dhw import KINDS, PEAKS_H
from goflex.twin.heat_pump import heat_pump_cop, supply_temperature_c
from goflex.twin.space_heating import SpaceHeatingFleet, SpaceHeatingStates
from goflex.twin.tank import RHO_CP_J_PER_L_K, TankFleet, TankStates

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
CLASSES: Final = (1, 2, 4, 8)
"""Longest block of a class [quarters]; utilities block up to ~2 h (physics-and-grid.md 3)."""
QUARTER_S: Final = 900.0
LITRES_PER_PERSON_DAY: Final = 45.0
SAFETY: Final = 0.7
"""Share of the headroom a block may use (draws and weather are uncertain)."""
INTERNAL_GAINS_W: Final = 400.0
TANK_MARGIN_K: Final = 5.0
"""A blocked tank is released when its top is this close to its minimum (a shower takes a few kelvin)."""
ROOM_MARGIN_K: Final = 0.25
"""A blocked room is released this close to its comfort floor (it cools ~0.05 K per 5 minutes, and the heater
needs a while to turn the fall around)."""


@dataclass(frozen=True, eq=False)
class FleetModel:
    """All devices of a fleet, per kind, with their group and comfort limits.

    Attributes:
        group_names: one name per group (``name#index`` so names are unique).
        tanks: the water heaters; tank_group: group index per tank; tank_min_c: comfort limit [C];
            tank_persons: inhabitants per tank's house.
        rooms: the space heating (heat pumps and direct heaters); room_group; room_min_c: comfort floor [C].
        tank_class, room_class: longest block [quarters] per device (0 = not offered).
        rebound_factor: rebound energy per shed energy per group [-].
    """

    group_names: tuple[str, ...]
    tanks: TankFleet
    tank_group: I64
    tank_min_c: F64
    tank_persons: F64
    rooms: SpaceHeatingFleet
    room_group: I64
    room_min_c: F64
    tank_class: I64
    room_class: I64
    rebound_factor: F64

    @property
    def installed_mw(self) -> float:
        """Installed electric power [MW] (heat pumps at a COP of 3)."""
        rooms = np.where(self.rooms.is_heat_pump, self.rooms.q_nom_w / 3.0, self.rooms.q_nom_w)
        return float(self.tanks.power_w.sum() + rooms.sum()) / 1e6


def _spread(rng: np.random.Generator, value: float, n: int, share: float) -> F64:
    return np.asarray(value * rng.uniform(1.0 - share, 1.0 + share, n), dtype=np.float64)


def _tanks(groups: list[tuple[int, WaterHeaterGroup]], rng: np.random.Generator) -> tuple[TankFleet, I64, F64, F64]:
    idx = np.concatenate([np.full(g.count, i, dtype=np.int64) for i, g in groups] or [np.zeros(0, np.int64)])
    parts = [g for _, g in groups]

    def col(f: str, share: float = 0.0) -> F64:
        arrays = [_spread(rng, float(getattr(g, f)), g.count, share) for g in parts]
        return np.concatenate(arrays) if arrays else np.zeros(0)

    n = idx.size
    persons = np.concatenate(
        [rng.integers(g.persons[0], g.persons[1] + 1, g.count).astype(np.float64) for g in parts] or [np.zeros(0)]
    )
    fleet = TankFleet(
        volume_l=col("volume_l"),
        power_w=col("power_kw") * 1000.0,
        efficiency=rng.uniform(0.98, 1.0, n),
        setpoint_c=col("setpoint_c") + rng.uniform(-1.0, 1.0, n),
        deadband_k=col("deadband_k", 0.1),
        ua_w_per_k=col("ua_w_per_k", 0.15),
        ambient_c=rng.uniform(15.0, 20.0, n),
        cold_c=rng.uniform(10.0, 12.0, n),
        two_node=np.ones(n, dtype=np.bool_),
    )
    return fleet, idx, col("min_temp_c"), persons


def _rooms(
    groups: list[tuple[int, HeatPumpGroup | DirectHeatingGroup]], rng: np.random.Generator
) -> tuple[SpaceHeatingFleet, I64, F64]:
    idx = np.concatenate([np.full(g.count, i, dtype=np.int64) for i, g in groups] or [np.zeros(0, np.int64)])
    n = idx.size

    def per(values: list[float], share: float = 0.0) -> F64:
        arrays = [_spread(rng, v, g.count, share) for v, (_, g) in zip(values, groups, strict=True)]
        return np.concatenate(arrays) if arrays else np.zeros(0)

    hp = per([1.0 if isinstance(g, HeatPumpGroup) else 0.0 for _, g in groups]) > 0.5
    q_nom = per([g.thermal_kw * 1000.0 if isinstance(g, HeatPumpGroup) else g.power_kw * 1000.0 for _, g in groups])
    lo = per([g.comfort_c[0] for _, g in groups])
    hi = per([g.comfort_c[1] for _, g in groups])
    band = rng.uniform(0.3, 0.5, n)
    # set point: the thermostat's lower switching point sits 0.5-0.8 K above the comfort floor
    setpoint = np.minimum(lo + band + rng.uniform(0.5, 0.8, n), hi - band)
    fleet = SpaceHeatingFleet(
        two_node=np.zeros(n, dtype=np.bool_),
        h_w_per_k=per([g.h_w_per_k for _, g in groups], 0.15),
        c_j_per_k=per([g.c_kwh_per_k * 3.6e6 for _, g in groups], 0.15),
        env_share=np.full(n, 0.5),
        h_ie_w_per_k=np.full(n, 1e4),
        is_heat_pump=hp,
        q_nom_w=q_nom,
        supply_design_c=np.where(rng.uniform(0, 1, n) < 0.6, 35.0, 45.0),
        carnot_efficiency=rng.uniform(0.40, 0.50, n),
        setpoint_c=setpoint,
        band_k=band,
        min_on_s=np.where(hp, rng.uniform(600.0, 1200.0, n), 0.0),
        min_off_s=np.where(hp, rng.uniform(600.0, 1200.0, n), 0.0),
    )
    return fleet, idx, lo


def build_fleet_model(fleet: Fleet, *, typical_outdoor_c: float) -> FleetModel:
    """Draw the devices of ``fleet`` (from ``fleet.seed``) and class them by typical headroom.

    Args:
        fleet: the scenario's groups.
        typical_outdoor_c: mean outdoor temperature of the period [C] (sets the rooms' typical headroom).
    """
    rng = np.random.default_rng([fleet.seed, 0xD035])
    tank_groups = [(i, g) for i, g in enumerate(fleet.groups) if isinstance(g, WaterHeaterGroup)]
    room_groups = [(i, g) for i, g in enumerate(fleet.groups) if isinstance(g, HeatPumpGroup | DirectHeatingGroup)]
    tanks, tank_group, tank_min, persons = _tanks(tank_groups, rng)
    rooms, room_group, room_min = _rooms(room_groups, rng)
    mid_tank = tanks.setpoint_c - 0.5 * tanks.deadband_k
    tank_head = _tank_headroom_s(tanks, persons, tank_min, mid_tank, mid_tank, draw_factor=2.0)
    room_head = _room_headroom_s(rooms, room_min, rooms.setpoint_c, typical_outdoor_c)
    factors = np.array([1.05 if isinstance(g, HeatPumpGroup) else 1.0 for g in fleet.groups])
    return FleetModel(
        group_names=tuple(f"{g.name}#{i}" for i, g in enumerate(fleet.groups)),
        tanks=tanks,
        tank_group=tank_group,
        tank_min_c=tank_min,
        tank_persons=persons,
        rooms=rooms,
        room_group=room_group,
        room_min_c=room_min,
        tank_class=block_class(tank_head),
        room_class=block_class(room_head),
        rebound_factor=factors,
    )


def block_class(headroom_s: F64) -> I64:
    """Longest class block (1, 2, 4 or 8 quarters) within ``SAFETY`` x headroom; 0 when not even one quarter."""
    quarters = SAFETY * headroom_s / QUARTER_S
    out = np.zeros(headroom_s.size, dtype=np.int64)
    for c in CLASSES:
        out[quarters >= c] = c
    return out


def _tank_headroom_s(
    tanks: TankFleet, persons: F64, min_c: F64, upper_c: F64, lower_c: F64, *, draw_factor: float
) -> F64:
    """Seconds until the top of a blocked tank reaches its minimum (half the tank's heat above it usable)."""
    mean_c = 0.5 * (upper_c + lower_c)
    usable_j = 0.5 * tanks.capacity_j_per_k * np.maximum(np.minimum(upper_c, mean_c + 2.0) - min_c, 0.0)
    draw_w = draw_factor * persons * LITRES_PER_PERSON_DAY * RHO_CP_J_PER_L_K * (60.0 - tanks.cold_c) / 86400.0
    loss_w = tanks.ua_w_per_k * (mean_c - tanks.ambient_c) + draw_w
    return np.asarray(usable_j / np.maximum(loss_w, 1.0), dtype=np.float64)


def _room_headroom_s(rooms: SpaceHeatingFleet, min_c: F64, t_in_c: F64, t_out_c: float | F64) -> F64:
    """Seconds until a blocked room cools to its comfort floor (infinite when it does not cool)."""
    loss_w = rooms.h_w_per_k * (t_in_c - t_out_c) - INTERNAL_GAINS_W
    usable_j = rooms.c_j_per_k * np.maximum(t_in_c - min_c, 0.0)
    return np.asarray(np.where(loss_w > 1.0, usable_j / np.maximum(loss_w, 1.0), 1e9), dtype=np.float64)


def tank_headroom_s(model: FleetModel, state: TankStates) -> F64:
    """Current headroom of every tank [s] (draws counted at three times their daily mean, the release margin kept)."""
    return _tank_headroom_s(
        model.tanks,
        model.tank_persons,
        model.tank_min_c + TANK_MARGIN_K,
        state.upper_c,
        state.lower_c,
        draw_factor=3.0,
    )


def room_headroom_s(model: FleetModel, state: SpaceHeatingStates, t_out_c: float) -> F64:
    """Current headroom of every room [s] at outdoor temperature ``t_out_c``."""
    return _room_headroom_s(model.rooms, model.room_min_c, state.t_in_c, t_out_c)


def _dhw_profile() -> F64:
    """Share of a day's hot water drawn in each local hour (the twin's draw peaks), shifted 1 h for the reheat."""
    hours = np.arange(24) + 0.5
    weight = np.zeros(24)
    for kind in KINDS:
        for w, (centre, sd) in zip(kind.weights, PEAKS_H, strict=True):
            d = (hours - centre - 1.0 + 12.0) % 24.0 - 12.0
            weight += kind.rate_per_person_day * kind.mean_volume_l * w * np.exp(-0.5 * (d / (sd + 0.5)) ** 2)
    return np.asarray(weight / weight.sum(), dtype=np.float64)


DHW_PROFILE: Final = _dhw_profile()


def tank_power_w(model: FleetModel, local_hour: F64) -> F64:
    """Expected electric power of each tank [W], shape (tanks, len(local_hour)): standby plus reheat of draws."""
    t = model.tanks
    daily_j = model.tank_persons * LITRES_PER_PERSON_DAY * RHO_CP_J_PER_L_K * (60.0 - t.cold_c)
    share = DHW_PROFILE[np.floor(local_hour).astype(np.int64) % 24]
    standby = t.ua_w_per_k * (t.setpoint_c - 0.5 * t.deadband_k - t.ambient_c)
    heat = standby[:, None] + daily_j[:, None] * share[None, :] / 3600.0
    return np.asarray(np.minimum(heat / t.efficiency[:, None], t.power_w[:, None]), dtype=np.float64)


def room_power_w(model: FleetModel, t_out_c: F64) -> F64:
    """Expected electric power of each room heater [W], shape (rooms, len(t_out_c)): steady demand / COP."""
    r = model.rooms
    demand = np.clip(
        r.h_w_per_k[:, None] * (r.setpoint_c[:, None] - t_out_c[None, :]) - INTERNAL_GAINS_W, 0.0, r.q_nom_w[:, None]
    )
    supply = supply_temperature_c(r.supply_design_c[:, None], t_out_c[None, :])
    cop = np.where(r.is_heat_pump[:, None], heat_pump_cop(t_out_c[None, :], supply, r.carnot_efficiency[:, None]), 1.0)
    return np.asarray(demand / cop, dtype=np.float64)


@dataclass(frozen=True)
class OfferKey:
    """Which devices an offer stands for: a group and a block class."""

    group: int
    length: int

    def name(self, model: FleetModel) -> str:
        """``group-name/L<quarters>``."""
        return f"{model.group_names[self.group]}/L{self.length}"


def offer_keys(model: FleetModel) -> list[OfferKey]:
    """The (group, class) pairs that have devices."""
    keys = {OfferKey(int(g), int(c)) for g, c in zip(model.tank_group, model.tank_class, strict=True) if c > 0}
    keys |= {OfferKey(int(g), int(c)) for g, c in zip(model.room_group, model.room_class, strict=True) if c > 0}
    return sorted(keys, key=lambda k: (k.group, k.length))


def class_power_mw(model: FleetModel, keys: list[OfferKey], tank_w: F64, room_w: F64) -> tuple[F64, F64]:
    """Baseline and installed power per offer key [MW]: shapes (keys, T) and (keys,).

    Args:
        model: the fleet.
        keys: the offers.
        tank_w: power of each tank per quarter [W], shape (tanks, T).
        room_w: power of each room heater per quarter [W], shape (rooms, T).
    """
    t_count = tank_w.shape[1] if tank_w.ndim == 2 else room_w.shape[1]
    power = np.zeros((len(keys), t_count))
    installed = np.zeros(len(keys))
    room_el = np.where(model.rooms.is_heat_pump, model.rooms.q_nom_w / 3.0, model.rooms.q_nom_w)
    for k, key in enumerate(keys):
        tm = (model.tank_group == key.group) & (model.tank_class == key.length)
        rm = (model.room_group == key.group) & (model.room_class == key.length)
        power[k] = (tank_w[tm].sum(axis=0) if tm.any() else 0.0) + (room_w[rm].sum(axis=0) if rm.any() else 0.0)
        installed[k] = model.tanks.power_w[tm].sum() + room_el[rm].sum()
    return power / 1e6, installed / 1e6


def make_offers(
    model: FleetModel,
    keys: list[OfferKey],
    power_mw: F64,
    installed_mw: F64,
    *,
    cost_eur_per_mwh: float,
    committed: dict[str, tuple[F64, F64]],
) -> tuple[ShedOffer, ...]:
    """One :class:`ShedOffer` per key, with the blocks already running (``committed[name] = (delta, occupied)``)."""
    offers = []
    for k, key in enumerate(keys):
        name = key.name(model)
        cap = power_mw[k]
        duty = float(np.clip(cap.mean() / max(installed_mw[k], 1e-9), 0.05, 0.95)) if installed_mw[k] > 0 else 0.5
        delta, occupied = committed.get(name, (None, None))
        durations = tuple(d for d in CLASSES if d <= key.length)
        offers.append(
            ShedOffer(
                name=name,
                cap_mw=np.maximum(cap, 0.0),
                durations=durations,
                duty=duty,
                rebound_factor=float(model.rebound_factor[key.group]),
                cost_eur_per_mwh=cost_eur_per_mwh,
                committed_mw=delta,
                occupied_mw=occupied,
            )
        )
    return tuple(offers)


def local_hour(time_s: F64) -> F64:
    """Hour of the day in Swiss local time (CET/CEST approximated by UTC+1, +2 from April to October)."""
    # a fixed offset is enough for a draw profile whose peaks have 1-1.5 h spread
    day_of_year = (time_s / 86400.0) % 365.25
    offset = np.where((day_of_year > 88) & (day_of_year < 300), 2.0, 1.0)
    return np.asarray(np.mod(time_s / 3600.0 + offset, 24.0), dtype=np.float64)


def quarters_of(seconds: float) -> int:
    """Whole quarters in ``seconds`` (rounded down)."""
    return max(0, math.floor(seconds / QUARTER_S))
