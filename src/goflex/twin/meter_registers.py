"""What the smart meters of ``n`` houses register: energies per tariff and quadrant, voltages, currents (pure).

Sign conventions follow the meter (meter-cii.md, IEC 62053-23 quadrants): active import positive; the reactive
quadrants are QI (+P, +Q: +Ri, 1-1:5.8.0), QII (-P, +Q: +Rc, 6.8.0), QIII (-P, -Q: -Ri, 7.8.0) and
QIV (+P, -Q: -Rc, 8.8.0).

Tariffs (an assumption, typical of Swiss utilities; the seed gives none): high tariff (rate 1, 1-1:1.8.1)
Monday to Friday 07:00-20:00 and Saturday 07:00-13:00 local time, low tariff (rate 2) otherwise and on the
public holidays of canton Valais.

Reactive power: household appliances draw at cos phi 0.90-0.98 inductive, with a small capacitive offset of
20-60 var from switched-mode power supplies' EMI filters (so a quiet house sits in QIV), heat pumps at cos phi 0.95
inductive, resistive heaters and PV inverters at cos phi 1.

Voltages: 230 V plus the house's place on its feeder (N(+1 V, 2 V)), a slow common swing of the grid (+/-2 V,
lowest in the evening peak), the drop or rise over the service cable (0.25 ohm per phase) and 0.3 V of noise,
kept within EN 50160's 230 V +/-10 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from goflex.twin.base_load import valais_holidays

NOMINAL_V: Final = 230.0
CABLE_OHM: Final = 0.25
HEAT_PUMP_TAN_PHI: Final = math.tan(math.acos(0.95))


def high_tariff(time_s: float, *, timezone: str = "Europe/Zurich", holidays: frozenset[date] = frozenset()) -> bool:
    """Whether ``time_s`` (Unix [s]) falls in the high tariff (see the module docstring)."""
    local = datetime.fromtimestamp(time_s, ZoneInfo(timezone))
    if local.date() in holidays:
        return False
    hour = local.hour + local.minute / 60.0
    if local.weekday() < 5:
        return 7.0 <= hour < 20.0
    return local.weekday() == 5 and 7.0 <= hour < 13.0


@dataclass
class MeterBank:
    """Registers and instantaneous values of ``n`` meters (mutable: the fleet's running state).

    Attributes:
        import_wh: +A [Wh], shape (n,).
        export_wh: -A [Wh].
        import_tariff_wh: +A per rate [Wh], shape (n, 2).
        export_tariff_wh: -A per rate [Wh], shape (n, 2).
        quadrants_varh: QI..QIV [varh], shape (n, 4).
        power_w: net active power, import positive [W].
        reactive_var: net reactive power, inductive import positive [var].
        voltage_v: per phase [V], shape (n, 3).
        current_a: per phase [A], shape (n, 3).
    """

    import_wh: NDArray[np.float64]
    export_wh: NDArray[np.float64]
    import_tariff_wh: NDArray[np.float64]
    export_tariff_wh: NDArray[np.float64]
    quadrants_varh: NDArray[np.float64]
    power_w: NDArray[np.float64]
    reactive_var: NDArray[np.float64]
    voltage_v: NDArray[np.float64]
    current_a: NDArray[np.float64]

    @classmethod
    def empty(cls, n: int) -> MeterBank:
        """Meters with zero registers at nominal voltage."""
        return cls(
            import_wh=np.zeros(n),
            export_wh=np.zeros(n),
            import_tariff_wh=np.zeros((n, 2)),
            export_tariff_wh=np.zeros((n, 2)),
            quadrants_varh=np.zeros((n, 4)),
            power_w=np.zeros(n),
            reactive_var=np.zeros(n),
            voltage_v=np.full((n, 3), NOMINAL_V),
            current_a=np.zeros((n, 3)),
        )

    def record(self, power_w: NDArray[np.float64], reactive_var: NDArray[np.float64], dt_s: float, rate: int) -> None:
        """Add a step of constant mean powers to the registers.

        Args:
            power_w: net active power per house over the step, import positive [W].
            reactive_var: net reactive power per house [var].
            dt_s: step length [s].
            rate: tariff rate 0 (high) or 1 (low).
        """
        to_h = dt_s / 3600.0
        imp, exp = np.maximum(power_w, 0.0) * to_h, np.maximum(-power_w, 0.0) * to_h
        self.import_wh += imp
        self.export_wh += exp
        self.import_tariff_wh[:, rate] += imp
        self.export_tariff_wh[:, rate] += exp
        quadrant = np.where(power_w >= 0, np.where(reactive_var >= 0, 0, 3), np.where(reactive_var >= 0, 1, 2))
        np.add.at(self.quadrants_varh, (np.arange(power_w.size), quadrant), np.abs(reactive_var) * to_h)
        self.power_w = power_w
        self.reactive_var = reactive_var


@dataclass(frozen=True)
class Electrics:
    """Per-house constants of the reactive and voltage synthesis.

    Attributes:
        tan_phi: appliances' reactive/active ratio [-], shape (n,).
        capacitive_var: standing capacitive reactive power [var] (>= 0).
        phase_share: base load per phase [-], shape (n, 3), rows sum to 1.
        feeder_offset_v: the house's voltage offset on its feeder [V].
    """

    tan_phi: NDArray[np.float64]
    capacitive_var: NDArray[np.float64]
    phase_share: NDArray[np.float64]
    feeder_offset_v: NDArray[np.float64]

    @classmethod
    def draw(cls, n: int, rng: np.random.Generator) -> Electrics:
        """Random houses (see the module docstring for the ranges)."""
        share = rng.dirichlet([6.0, 6.0, 6.0], size=n)
        return cls(
            tan_phi=np.tan(np.arccos(rng.uniform(0.90, 0.98, n))),
            capacitive_var=rng.uniform(20.0, 60.0, n),
            phase_share=share,
            feeder_offset_v=rng.normal(1.0, 2.0, n),
        )


def voltages_v(
    electrics: Electrics, phase_power_w: NDArray[np.float64], time_s: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Phase voltages [V], shape (n, 3), from the per-phase net power (import positive) [W]."""
    hour = (time_s / 3600.0) % 24.0
    swing = -2.0 * math.cos(2.0 * math.pi * (hour - 17.0) / 24.0)  # UTC 17 h ~ the Swiss evening peak
    drop = CABLE_OHM * phase_power_w / NOMINAL_V
    noise = rng.normal(0.0, 0.3, phase_power_w.shape)
    v = NOMINAL_V + electrics.feeder_offset_v[:, None] + swing - drop + noise
    return np.asarray(np.clip(v, 0.9 * NOMINAL_V, 1.1 * NOMINAL_V), dtype=np.float64)


def holiday_set(first: date, last: date) -> frozenset[date]:
    """Valais holidays between two dates (for :func:`high_tariff`)."""
    return frozenset(valais_holidays(range(first.year, last.year + 1)))
