"""Air/water heat pump: heating curve and coefficient of performance (pure, vectorised).

COP ~ 0.45 x Carnot (physics-and-grid.md 3). The Carnot factor is taken between the refrigerant's condensing and
evaporating temperatures, which lie :data:`APPROACH_K` above the supply water and below the outdoor air (the
heat exchangers need a temperature difference); with 0.45 this gives about 4.0 at 7/35 C and 2.9 at -7/35 C,
the figures of physics-and-grid.md 3 (4-4.5 and 2.3-2.8).

The supply temperature follows a linear heating curve from the outdoor temperature, raised by a room influence
(German "Raumeinfluss") when the room is colder than its set point: after a block the heat pump recovers at a
higher supply temperature and a lower COP, which is why shifting costs heat pumps slightly more electricity.
"""

from __future__ import annotations

import numpy as np

from goflex.twin.columns import FloatArray

KELVIN = 273.15
APPROACH_K = 3.5
"""Temperature difference across each heat exchanger of the heat pump [K]."""
MIN_LIFT_K = 5.0
"""Smallest refrigerant lift the model allows [K]; bounds the COP in mild weather."""
MAX_COP = 8.0
DESIGN_OUTDOOR_C = -8.0
"""Winter design temperature of Sion (physics-and-grid.md 4) [C]: the heating curve reaches its design supply."""
ROOM_INFLUENCE_K_PER_K = 3.0
"""Supply temperature raised per kelvin the room is below its set point [K/K]."""


def heat_pump_cop(
    t_out_c: FloatArray | float, t_supply_c: FloatArray | float, carnot_efficiency: FloatArray | float
) -> FloatArray:
    """Coefficient of performance: heat delivered per electric energy [-].

    Args:
        t_out_c: outdoor air temperature [C].
        t_supply_c: supply water temperature [C].
        carnot_efficiency: share of the Carnot COP reached [-] (about 0.45).

    Returns:
        COP in [1, :data:`MAX_COP`].
    """
    hot_k = np.asarray(t_supply_c, dtype=np.float64) + APPROACH_K + KELVIN
    lift_k = np.maximum(hot_k - (np.asarray(t_out_c, dtype=np.float64) - APPROACH_K + KELVIN), MIN_LIFT_K)
    return np.asarray(np.clip(np.asarray(carnot_efficiency) * hot_k / lift_k, 1.0, MAX_COP), dtype=np.float64)


def supply_temperature_c(
    supply_design_c: FloatArray | float,
    t_out_c: FloatArray | float,
    room_deficit_k: FloatArray | float = 0.0,
) -> FloatArray:
    """Supply temperature the heat pump's controller aims at [C].

    Args:
        supply_design_c: supply temperature at the design outdoor temperature [C] (about 35 C for floor
            heating, 45-55 C for radiators).
        t_out_c: outdoor air temperature [C].
        room_deficit_k: set point minus room temperature [K]; only a positive deficit raises the supply.

    Returns:
        Supply temperature [C], between 25 C and ``supply_design_c + 10`` K.
    """
    design = np.asarray(supply_design_c, dtype=np.float64)
    curve = 20.0 + (design - 20.0) * (20.0 - np.asarray(t_out_c)) / (20.0 - DESIGN_OUTDOOR_C)
    raised = curve + ROOM_INFLUENCE_K_PER_K * np.maximum(np.asarray(room_deficit_k), 0.0)
    return np.asarray(np.clip(raised, 25.0, design + 10.0), dtype=np.float64)
