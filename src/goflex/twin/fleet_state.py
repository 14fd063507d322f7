"""How a fleet's house specs map onto the vectorised device models, and one house's snapshot (pure).

:class:`FleetLayout` turns the per-house records (:class:`goflex.twin.house.HouseSpec`) into index arrays: which
houses have a tank or a heated building, which relay drives each, how each load splits over the phases, and
the clamps of every sub-meter. :func:`build_tanks` and :func:`build_space_heating` set the devices' parameters
from the specs (rated powers, volumes, building losses) on top of the devices' typical distributions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from goflex.twin.heat_pump import DESIGN_OUTDOOR_C, heat_pump_cop
from goflex.twin.house import HouseSpec, Load, Technology
from goflex.twin.signals import ClampReading, HouseSnapshot, MeterRegisters
from goflex.twin.space_heating import SpaceHeatingFleet
from goflex.twin.tank import TankFleet

if TYPE_CHECKING:
    from goflex.twin.fleet import FleetPhysics

LOADS = (Load.SPACE_HEATING, Load.DHW, Load.COMMON, Load.PV)  # column order of the clamp load matrix
TANK_RESISTIVE, TANK_HEAT_PUMP, TANK_COMMON_HEAT_PUMP = 0, 1, 2
HP_WATER_HEATER_CARNOT = 0.42
HP_TANK_MAX_SETPOINT_C = 52.0  # a heat pump's refrigerant limits the tank (no backup element modelled)
REFERENCE_LOSS_W_PER_K = 175.0  # the middle of the devices' typical building, for scaling its capacity


@dataclass(frozen=True)
class FleetLayout:
    """Index arrays of a fleet (n houses, t tanks, s heated buildings, c clamps).

    Attributes:
        tank_house: house of each tank, shape (t,).
        tank_relay: relay (0 = relay 1, 1 = relay 2) of each tank.
        tank_kind: TANK_RESISTIVE, TANK_HEAT_PUMP (heat-pump water heater) or TANK_COMMON_HEAT_PUMP.
        tank_carnot: Carnot efficiency of a tank's heat pump [-].
        tank_hp: indices of the tanks heated by a heat pump.
        sh_house: house of each heated building, shape (s,).
        sh_relay: relay of each.
        sh_tank: the tank of the same house (index into the tanks) or -1.
        sh_common_hp: the building shares its heat pump with the tank (DHW priority).
        sh_shares_tank_relay: the building's relay is the tank's (a common system: counted once).
        tank_of_house: tank index per house or -1, shape (n,).
        sh_of_house: building index per house or -1.
        dhw_phase, sh_phase, pv_phase: share of each load per phase, shape (n, 3).
        clamp_house, clamp_load, clamp_share: per clamp its house, load column (LOADS) and share.
        clamp_meter, clamp_no: per clamp its powerMeter (1-based) and clamp number (1..3).
    """

    tank_house: NDArray[np.intp]
    tank_relay: NDArray[np.intp]
    tank_kind: NDArray[np.intp]
    tank_carnot: NDArray[np.float64]
    tank_hp: NDArray[np.intp]
    sh_house: NDArray[np.intp]
    sh_relay: NDArray[np.intp]
    sh_tank: NDArray[np.intp]
    sh_common_hp: NDArray[np.bool_]
    sh_shares_tank_relay: NDArray[np.bool_]
    tank_of_house: NDArray[np.intp]
    sh_of_house: NDArray[np.intp]
    dhw_phase: NDArray[np.float64]
    sh_phase: NDArray[np.float64]
    pv_phase: NDArray[np.float64]
    clamp_house: NDArray[np.intp]
    clamp_load: NDArray[np.intp]
    clamp_share: NDArray[np.float64]
    clamp_meter: NDArray[np.intp]
    clamp_no: NDArray[np.intp]

    @classmethod
    def of(cls, specs: Sequence[HouseSpec]) -> FleetLayout:
        """The layout of ``specs``."""
        n = len(specs)
        tanks = [i for i, s in enumerate(specs) if s.electric_dhw]
        heated = [i for i, s in enumerate(specs) if s.electric_space_heating]
        tank_of = np.full(n, -1, dtype=np.intp)
        tank_of[tanks] = np.arange(len(tanks))
        sh_of = np.full(n, -1, dtype=np.intp)
        sh_of[heated] = np.arange(len(heated))
        kind = [
            TANK_COMMON_HEAT_PUMP
            if specs[i].common_system and specs[i].dhw is Technology.HEAT_PUMP
            else TANK_HEAT_PUMP
            if specs[i].dhw is Technology.HEAT_PUMP
            else TANK_RESISTIVE
            for i in tanks
        ]
        clamps = [(i, c) for i, s in enumerate(specs) for c in s.clamps]
        return cls(
            tank_house=np.array(tanks, dtype=np.intp),
            tank_relay=np.array([(specs[i].dhw_relay or 1) - 1 for i in tanks], dtype=np.intp),
            tank_kind=np.array(kind, dtype=np.intp),
            tank_carnot=np.full(len(tanks), HP_WATER_HEATER_CARNOT),
            tank_hp=np.flatnonzero(np.array(kind, dtype=np.intp) != TANK_RESISTIVE).astype(np.intp),
            sh_house=np.array(heated, dtype=np.intp),
            sh_relay=np.array([(specs[i].space_heating_relay or 1) - 1 for i in heated], dtype=np.intp),
            sh_tank=tank_of[heated] if heated else np.zeros(0, dtype=np.intp),
            sh_common_hp=np.array(
                [specs[i].common_system and specs[i].space_heating is Technology.HEAT_PUMP for i in heated],
                dtype=np.bool_,
            ),
            sh_shares_tank_relay=np.array(
                [specs[i].electric_dhw and specs[i].dhw_relay == specs[i].space_heating_relay for i in heated],
                dtype=np.bool_,
            ),
            tank_of_house=tank_of,
            sh_of_house=sh_of,
            dhw_phase=_phases(specs, (Load.DHW, Load.COMMON)),
            sh_phase=_phases(specs, (Load.SPACE_HEATING, Load.COMMON)),
            pv_phase=_phases(specs, (Load.PV,)),
            clamp_house=np.array([i for i, _ in clamps], dtype=np.intp),
            clamp_load=np.array([LOADS.index(c.load) for _, c in clamps], dtype=np.intp),
            clamp_share=np.array([c.share for _, c in clamps], dtype=np.float64),
            clamp_meter=np.array([c.power_meter for _, c in clamps], dtype=np.intp),
            clamp_no=np.array([c.clamp for _, c in clamps], dtype=np.intp),
        )


def _phases(specs: Sequence[HouseSpec], loads: tuple[Load, ...]) -> NDArray[np.float64]:
    """Per house, the share of a load on L1..L3 from its clamps; what no clamp sees splits evenly."""
    out = np.zeros((len(specs), 3))
    for i, s in enumerate(specs):
        for c in s.clamps:
            if c.load in loads:
                out[i, c.phase - 1] += c.share
        out[i] += max(0.0, 1.0 - float(out[i].sum())) / 3.0
    return out


def build_tanks(specs: Sequence[HouseSpec], layout: FleetLayout, rng: np.random.Generator) -> TankFleet:
    """The water heaters: the devices' typical Swiss tanks with the specs' volumes and rated powers."""
    houses = [specs[i] for i in layout.tank_house]
    typical = TankFleet.typical(len(houses), rng)
    volume = np.array([s.tank_volume_l for s in houses], dtype=np.float64)
    hp = layout.tank_kind != TANK_RESISTIVE
    return replace(
        typical,
        volume_l=volume,
        power_w=np.array([s.dhw_power_w for s in houses], dtype=np.float64),
        ua_w_per_k=typical.ua_w_per_k * (volume / typical.volume_l) ** (2.0 / 3.0),
        setpoint_c=np.where(hp, np.minimum(typical.setpoint_c, HP_TANK_MAX_SETPOINT_C), typical.setpoint_c),
    )


def build_space_heating(specs: Sequence[HouseSpec], layout: FleetLayout, rng: np.random.Generator) -> SpaceHeatingFleet:
    """The heated buildings: the specs' loss coefficients and rated powers on the devices' typical houses.

    A heat pump's rated electric power is taken at the design point, so its thermal power is that times the COP
    at -8 C outdoor and its design supply temperature.
    """
    houses = [specs[i] for i in layout.sh_house]
    hp = np.array([s.space_heating is Technology.HEAT_PUMP for s in houses], dtype=np.bool_)
    typical = SpaceHeatingFleet.typical(len(houses), rng, heat_pump=hp)
    loss = np.array([s.building_loss_w_per_k for s in houses], dtype=np.float64)
    rated = np.array([s.space_heating_power_w for s in houses], dtype=np.float64)
    cop = heat_pump_cop(DESIGN_OUTDOOR_C, typical.supply_design_c, typical.carnot_efficiency)
    return replace(
        typical,
        h_w_per_k=loss,
        c_j_per_k=typical.c_j_per_k * loss / REFERENCE_LOSS_W_PER_K,
        h_ie_w_per_k=loss * typical.h_ie_w_per_k / typical.h_w_per_k,
        q_nom_w=np.where(hp, rated * cop, rated),
    )


def house_snapshot(fleet: FleetPhysics, i: int) -> HouseSnapshot:
    """What the devices of house ``i`` observe (seed 3.2.5.4: sensors only where the spec has them)."""
    spec, lay, m = fleet.specs[i], fleet.layout, fleet.meters
    meter = MeterRegisters(
        active_import_wh=float(m.import_wh[i]),
        active_export_wh=float(m.export_wh[i]),
        active_import_tariff_wh=(float(m.import_tariff_wh[i, 0]), float(m.import_tariff_wh[i, 1])),
        active_export_tariff_wh=(float(m.export_tariff_wh[i, 0]), float(m.export_tariff_wh[i, 1])),
        reactive_quadrants_varh=tuple(float(x) for x in m.quadrants_varh[i]),  # type: ignore[arg-type]
        power_import_w=max(float(m.power_w[i]), 0.0),
        power_export_w=max(-float(m.power_w[i]), 0.0),
        reactive_import_var=max(float(m.reactive_var[i]), 0.0),
        reactive_export_var=max(-float(m.reactive_var[i]), 0.0),
        voltage_v=tuple(float(x) for x in m.voltage_v[i]),  # type: ignore[arg-type]
        current_a=tuple(float(x) for x in m.current_a[i]),  # type: ignore[arg-type]
    )
    sh, tank = int(lay.sh_of_house[i]), int(lay.tank_of_house[i])
    room = float(fleet.heating_state.t_in_c[sh]) if sh >= 0 else None
    wall = float(fleet.tank_state.wall_c[tank]) if tank >= 0 else None
    rows = np.flatnonzero(lay.clamp_house == i)
    readings = {
        (int(lay.clamp_meter[r]), int(lay.clamp_no[r])): ClampReading(
            power_w=float(fleet.clamp_w[r]), energy_kwh=float(fleet.clamp_kwh[r])
        )
        for r in rows
    }
    idle = ClampReading(power_w=0.0, energy_kwh=0.0)
    closed = fleet.effective_closed()[i]
    return HouseSnapshot(
        time_s=fleet.time_s,
        meter=meter,
        ambient_c=(room,) * spec.devices.ambient_sensors if room is not None else (),
        tank_wall_c=(wall,) * spec.devices.boiler_sensors if wall is not None else (),
        clamps=tuple(
            (readings.get((k, 1), idle), readings.get((k, 2), idle), readings.get((k, 3), idle))
            for k in range(1, spec.devices.power_meters + 1)
        ),
        relay_closed=(bool(closed[0]), bool(closed[1])),
        switch_auto=bool(fleet.switch_auto[i]),
    )
