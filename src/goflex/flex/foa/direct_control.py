"""The Direct Control houses as thermostatic loads: each relay's physics forecast from the house's metadata and
what its sensors show (pure; seed 2.2.1, 3.2.5.3).

One relay drives one heating system, or both for a common system (seed 3.2.5.4 rule 5). The agent models a water
heater from the house's rated data (tank volume, element power; a heat-pump water heater at COP 2.5 and 52 C,
:data:`goflex.twin.fleet_state.HP_TANK_MAX_SETPOINT_C`) starting from the tank probe, and a room from the
building's loss coefficient (capacity scaled as in :func:`goflex.twin.fleet_state.build_space_heating`) starting
from the room sensor. A relay whose system has no sensor gets no offer: without a reading comfort cannot be
guaranteed (comfort first, flexoffer.md 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from goflex.flex.foa.devices import HouseReading, relay_loads
from goflex.flex.foa.thermal import (
    CombinedForecast,
    RoomForecast,
    TankForecast,
    ThermalForecast,
    one_room,
    room_state,
)
from goflex.twin.fleet_state import HP_TANK_MAX_SETPOINT_C, REFERENCE_LOSS_W_PER_K
from goflex.twin.house import HouseSpec, Technology
from goflex.twin.water_heater import TankParameters, TankState

TYPICAL_CAPACITY_J_PER_K = 9.0 * 3.6e6
"""Heat capacity of the reference building (9 kWh/K for H = 175 W/K, physics-and-grid.md 3)."""
HP_DESIGN_COP = 2.6
"""Thermal per electric power of a space-heating heat pump at the design point (fleet_generator.HP_RATED_COP)."""
HP_TANK_COP = 2.5


@dataclass(frozen=True, slots=True)
class ComfortSettings:
    """Comfort bounds the agent protects.

    Attributes:
        tank_min_c: least water temperature as read by the tank probe [C].
        room_min_c: least room temperature [C].
        room_setpoint_c: the room thermostat's set point assumed in forecasts [C].
        outdoor_c: outdoor temperature over the forecast horizon [C].
        gains_w: internal gains of a house [W].
    """

    tank_min_c: float = 45.0
    room_min_c: float = 19.0
    room_setpoint_c: float = 20.0
    outdoor_c: float = 2.0
    gains_w: float = 300.0


def tank_parameters(spec: HouseSpec) -> TankParameters:
    """The agent's model of the house's water heater."""
    heat_pump = spec.dhw is Technology.HEAT_PUMP or (spec.common_system and spec.space_heating is Technology.HEAT_PUMP)
    return TankParameters(
        volume_l=spec.tank_volume_l,
        power_w=spec.dhw_power_w,
        efficiency=HP_TANK_COP if heat_pump else 0.99,
        setpoint_c=HP_TANK_MAX_SETPOINT_C if heat_pump else 60.0,
    )


def relay_forecast(
    spec: HouseSpec, relay: int, reading: HouseReading, now: datetime, comfort: ComfortSettings
) -> ThermalForecast | None:
    """The physics behind ``relay`` of the house from its readings, or None when a needed sensor is missing."""
    parts: list[ThermalForecast] = []
    for load in relay_loads(spec).get(relay, ()):
        if load == "dhw":
            if reading.tank_c is None or spec.tank_volume_l <= 0:
                return None
            params = tank_parameters(spec)
            # the probe reads a few kelvin under the water: a cautious start
            heating = reading.tank_c <= params.setpoint_c - params.deadband_k
            parts.append(
                TankForecast(params, TankState(reading.tank_c, heating=heating), now, spec.persons, comfort.tank_min_c)
            )
        else:
            if reading.room_c is None:
                return None
            heat_pump = spec.space_heating is Technology.HEAT_PUMP
            room = one_room(
                loss_w_per_k=spec.building_loss_w_per_k,
                capacity_j_per_k=TYPICAL_CAPACITY_J_PER_K * spec.building_loss_w_per_k / REFERENCE_LOSS_W_PER_K,
                heat_w=spec.space_heating_power_w * (HP_DESIGN_COP if heat_pump else 1.0),
                heat_pump=heat_pump,
                setpoint_c=comfort.room_setpoint_c,
                band_k=0.5,
            )
            state = room_state(reading.room_c, heating_on=reading.room_c < comfort.room_setpoint_c)
            parts.append(RoomForecast(room, state, comfort.outdoor_c, comfort.gains_w, comfort.room_min_c))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else CombinedForecast(tuple(parts))


def comfort_lost(spec: HouseSpec, relay: int, reading: HouseReading, comfort: ComfortSettings) -> str | None:
    """Why comfort is lost behind ``relay`` now (``tank_below_minimum`` / ``room_below_minimum``), or None."""
    loads = relay_loads(spec).get(relay, ())
    if "dhw" in loads and reading.tank_c is not None and reading.tank_c < comfort.tank_min_c:
        return "tank_below_minimum"
    if "space_heating" in loads and reading.room_c is not None and reading.room_c < comfort.room_min_c:
        return "room_below_minimum"
    return None
