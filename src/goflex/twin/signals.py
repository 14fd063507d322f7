"""What a simulated house shows its devices, and what the devices do to it (pure contract).

The twin's physics (:mod:`goflex.twin.fleet`) computes the houses; the device emulators
(:mod:`goflex.twin.emulators`: the E450 meter, the Z-Wave sensors and Home Energy Meter, the relays and the
On-Auto switch) read a :class:`HouseSnapshot` and turn it into the bytes and reports real devices produce, and
write relay positions back through :class:`HousePort`. Neither side knows how the other is built, so the same
emulators serve one house in a test and two hundred in the demo.

Sign and unit conventions follow the meter (meter-cii.md): import is positive, registers are cumulative
energies in Wh and varh, powers in W and var, voltages in V, currents in A.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class MeterRegisters:
    """What the house's smart meter measures at one instant.

    Attributes:
        active_import_wh: +A total (1-1:1.8.0) [Wh].
        active_export_wh: -A total (1-1:2.8.0) [Wh].
        active_import_tariff_wh: +A per tariff (1-1:1.8.1, 1-1:1.8.2) [Wh].
        active_export_tariff_wh: -A per tariff (1-1:2.8.1, 1-1:2.8.2) [Wh].
        reactive_quadrants_varh: +Ri, +Rc, -Ri, -Rc (1-1:5.8.0 ... 1-1:8.8.0) [varh].
        power_import_w: +P (1-0:1.7.0) [W].
        power_export_w: -P (1-0:2.7.0) [W].
        reactive_import_var: +Q (1-0:3.7.0) [var].
        reactive_export_var: -Q (1-0:4.7.0) [var].
        voltage_v: L1, L2, L3 (1-0:32.7.0, 52.7.0, 72.7.0) [V].
        current_a: L1, L2, L3 (1-0:31.7.0, 51.7.0, 71.7.0) [A].
    """

    active_import_wh: float
    active_export_wh: float
    active_import_tariff_wh: tuple[float, float]
    active_export_tariff_wh: tuple[float, float]
    reactive_quadrants_varh: tuple[float, float, float, float]
    power_import_w: float
    power_export_w: float
    reactive_import_var: float
    reactive_export_var: float
    voltage_v: tuple[float, float, float]
    current_a: tuple[float, float, float]


@dataclass(frozen=True)
class ClampReading:
    """One clamp of an Aeotec Home Energy Meter.

    Attributes:
        power_w: instantaneous power through the clamp [W].
        energy_kwh: energy accumulated through the clamp [kWh].
    """

    power_w: float
    energy_kwh: float


@dataclass(frozen=True)
class HouseSnapshot:
    """The physical state of one house that its devices can observe, at simulated time ``time_s``.

    Attributes:
        time_s: simulated Unix time [s].
        meter: the smart meter's registers and instantaneous values.
        ambient_c: one temperature per room sensor (``ambientSensor-1`` ...) [C]; empty without one.
        tank_wall_c: one temperature per tank probe (``boilerSensor-1`` ...), measured on the tank wall [C].
        clamps: per Home Energy Meter (``powerMeter-1`` ...), its three clamps (seed Table 4).
        relay_closed: relay 1 and relay 2 as the house's wiring sees them (closed = heating enabled).
        switch_auto: the gateway's On-Auto switch (True = auto, False = manual: relays forced closed).
    """

    time_s: float
    meter: MeterRegisters
    ambient_c: tuple[float, ...] = ()
    tank_wall_c: tuple[float, ...] = ()
    clamps: tuple[tuple[ClampReading, ClampReading, ClampReading], ...] = ()
    relay_closed: tuple[bool, bool] = (True, True)
    switch_auto: bool = True


class HousePort(Protocol):
    """One simulated house, as its device emulators reach it."""

    @property
    def name(self) -> str:
        """The house's endpoint name (``goflex-dc-<###>``)."""
        ...

    def snapshot(self) -> HouseSnapshot:
        """The house's observable state now."""
        ...

    def set_relay(self, relay: int, closed: bool) -> None:
        """Drive relay ``relay`` (1 or 2): closed = heating enabled (seed 3.2.5.4 rule 5)."""
        ...

    def set_switch_auto(self, auto: bool) -> None:
        """Turn the On-Auto switch (an inhabitant's hand, in the twin)."""
        ...
