"""The fleet's devices and their flexibility from the twin's vectorised physics: expected power, headroom, deficit.

Pure (numpy and the twin's models). A scenario's ``fleet.json`` groups (:mod:`goflex.doms.scenario_files`)
become individual devices (:func:`build_fleet_model`): water heaters as the twin's two-node tanks
(:mod:`goflex.twin.tank`), heat pumps and direct heaters as 1R1C buildings (:mod:`goflex.twin.space_heating`),
each drawn around its group's values from the fleet's seed.

Per device (physics-and-grid.md 2-3; flexoffer.md 2, "comfort first"):

* *expected power*: what it draws on average when left alone: steady-state heat demand at the outdoor
  temperature over the COP for rooms, standby plus the hot-water draw profile for tanks;
* *headroom*: how long its relay may stay open before its *release threshold* (the comfort limit plus a margin
  that covers the worst plausible 5-minute draw or heat loss after the release): heat above the threshold over
  the loss rate, draws counted at three times their mean for tanks;
* *spare power*: installed minus expected power, what it catches up with once released.

How the devices are grouped into offers and blocked is :mod:`goflex.doms.fleet_sim`'s part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from goflex.doms.scenario_files import DirectHeatingGroup, Fleet, HeatPumpGroup, WaterHeaterGroup
from goflex.twin.dhw import KINDS, PEAKS_H
from goflex.twin.heat_pump import heat_pump_cop, supply_temperature_c
from goflex.twin.space_heating import SpaceHeatingFleet, SpaceHeatingStates
from goflex.twin.tank import RHO_CP_J_PER_L_K, TankFleet, TankStates

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
QUARTER_S: Final = 900.0
LITRES_PER_PERSON_DAY: Final = 45.0
INTERNAL_GAINS_W: Final = 400.0
TANK_MARGIN_K: Final = 8.0
"""A blocked tank is released when its lower layer (element and thermostat) falls to its minimum plus this.

A draw pushes lower-layer water into the upper layer (plug flow, :mod:`goflex.twin.tank`), so the lower layer is
what the top becomes after a large draw: with it kept 8 K above the minimum (53 C for 45 C, one kelvin below the
thermostat's own cut-in at set point minus dead band), even a draw of half the tank within the 5-minute step
before the release leaves the top above the minimum, as it would in the baseline."""
TANK_UPPER_MARGIN_K: Final = 8.0
"""...and when its upper layer falls to its minimum plus this."""
ROOM_MARGIN_K: Final = 0.4
"""A blocked room is released this close to its comfort floor: it cools at most ~0.06 K per 5 minutes on the
coldest days, and a heat pump's compressor may have to rest up to 20 minutes after the relay stopped it."""
BLOCK_MARGIN_K: Final = 0.15
"""A device is blocked only with at least this much more above its release threshold (no block-release flicker)."""
HEADROOM_DRAW_FACTOR: Final = 3.0
"""Hot-water draws counted at this multiple of their daily mean when computing a tank's headroom."""


@dataclass(frozen=True, eq=False)
class FleetModel:
    """All devices of a fleet, per kind, with their group and comfort limits.

    Attributes:
        group_names: one name per group (``name#index`` so names are unique).
        tanks: the water heaters; tank_group: group index per tank; tank_min_c: comfort limit [C];
            tank_persons: inhabitants per tank's house.
        rooms: the space heating (heat pumps and direct heaters); room_group; room_min_c: comfort floor [C].
        rebound_factor: recovery energy per energy withheld, per group [-].
    """

    group_names: tuple[str, ...]
    tanks: TankFleet
    tank_group: I64
    tank_min_c: F64
    tank_persons: F64
    rooms: SpaceHeatingFleet
    room_group: I64
    room_min_c: F64
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


def build_fleet_model(fleet: Fleet) -> FleetModel:
    """Draw the devices of ``fleet`` (from ``fleet.seed``).

    Args:
        fleet: the scenario's groups.
    """
    rng = np.random.default_rng([fleet.seed, 0xD035])
    tank_groups = [(i, g) for i, g in enumerate(fleet.groups) if isinstance(g, WaterHeaterGroup)]
    room_groups = [(i, g) for i, g in enumerate(fleet.groups) if isinstance(g, HeatPumpGroup | DirectHeatingGroup)]
    tanks, tank_group, tank_min, persons = _tanks(tank_groups, rng)
    rooms, room_group, room_min = _rooms(room_groups, rng)
    # physics-and-grid.md 3: shifted energy roughly conserved for boilers, slightly increased for heat pumps
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
        rebound_factor=factors,
    )


def tank_release_c(model: FleetModel) -> tuple[F64, F64]:
    """Release thresholds of every tank [C]: lower layer and upper layer (see :data:`TANK_MARGIN_K`)."""
    return model.tank_min_c + TANK_MARGIN_K, model.tank_min_c + TANK_UPPER_MARGIN_K


def room_release_c(model: FleetModel) -> F64:
    """Release threshold of every room [C] (see :data:`ROOM_MARGIN_K`)."""
    return np.asarray(model.room_min_c + ROOM_MARGIN_K, dtype=np.float64)


def _draw_w(model: FleetModel) -> F64:
    """Mean hot-water draw of every tank's house as heat [W]."""
    t = model.tanks
    return np.asarray(
        model.tank_persons * LITRES_PER_PERSON_DAY * RHO_CP_J_PER_L_K * (60.0 - t.cold_c) / 86400.0, dtype=np.float64
    )


def tank_headroom_s(model: FleetModel, state: TankStates) -> F64:
    """Seconds until a blocked tank reaches its release threshold [s] (draws at three times their mean).

    The lower layer (half the tank) loses its standby share and, through the draws, is replaced by mains water:
    its heat above the threshold over that loss.
    """
    t = model.tanks
    low_rel, up_rel = tank_release_c(model)
    c_low = 0.5 * t.capacity_j_per_k
    draw_w = HEADROOM_DRAW_FACTOR * _draw_w(model)
    # the lower layer's share of the draw heat: mains water replaces it at (T_l - cold) per (60 - cold)
    loss_w = 0.5 * t.ua_w_per_k * (state.lower_c - t.ambient_c) + draw_w * np.clip(
        (state.lower_c - t.cold_c) / (60.0 - t.cold_c), 0.0, 1.5
    )
    room_k = np.minimum(state.lower_c - low_rel, state.upper_c - up_rel)
    return np.asarray(c_low * np.maximum(room_k, 0.0) / np.maximum(loss_w, 1.0), dtype=np.float64)


def room_loss_w(model: FleetModel, t_in_c: F64, t_out_c: float) -> F64:
    """Net heat loss of every room [W] (envelope minus internal gains; may be negative)."""
    r = model.rooms
    return np.asarray(r.h_w_per_k * (t_in_c - t_out_c) - INTERNAL_GAINS_W, dtype=np.float64)


def room_headroom_s(model: FleetModel, state: SpaceHeatingStates, t_out_c: float) -> F64:
    """Seconds until a blocked room cools to its release threshold [s] (1e9 when it does not cool)."""
    loss_w = room_loss_w(model, state.t_in_c, t_out_c)
    usable_j = model.rooms.c_j_per_k * np.maximum(state.t_in_c - room_release_c(model), 0.0)
    return np.asarray(np.where(loss_w > 1.0, usable_j / np.maximum(loss_w, 1.0), 1e9), dtype=np.float64)


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


def room_cop(model: FleetModel, t_out_c: F64) -> F64:
    """COP of every room heater [-], shape (rooms, len(t_out_c)) (1 for resistive heaters)."""
    r = model.rooms
    supply = supply_temperature_c(r.supply_design_c[:, None], t_out_c[None, :])
    cop = np.where(r.is_heat_pump[:, None], heat_pump_cop(t_out_c[None, :], supply, r.carnot_efficiency[:, None]), 1.0)
    return np.asarray(cop, dtype=np.float64)


def room_power_w(model: FleetModel, t_out_c: F64) -> F64:
    """Expected electric power of each room heater [W], shape (rooms, len(t_out_c)): steady demand / COP."""
    r = model.rooms
    demand = np.clip(
        r.h_w_per_k[:, None] * (r.setpoint_c[:, None] - t_out_c[None, :]) - INTERNAL_GAINS_W, 0.0, r.q_nom_w[:, None]
    )
    return np.asarray(demand / room_cop(model, t_out_c), dtype=np.float64)


def local_hour(time_s: F64) -> F64:
    """Hour of the day in Swiss local time (CET/CEST approximated by UTC+1, +2 from April to October)."""
    # a fixed offset is enough for a draw profile whose peaks have 1-1.5 h spread
    day_of_year = (time_s / 86400.0) % 365.25
    offset = np.where((day_of_year > 88) & (day_of_year < 300), 2.0, 1.0)
    return np.asarray(np.mod(time_s / 3600.0 + offset, 24.0), dtype=np.float64)
