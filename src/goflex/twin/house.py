"""The description of one Direct Control house: its heating, sensors and wiring (pure; seed 3.2.5.3, 3.2.5.4).

A :class:`HouseSpec` is what the meta-data database of seed 3.2.5.11 records about a house: the type of house
(3.2.5.3: electric space heating and/or domestic hot water, common or separate systems, resistive or heat pump,
with or without PV), the energy-relevant facts (rated powers, tank volume, building loss, inhabitants), and the
topology (which relay drives which system, which clamp of which sub-meter measures which load). The rules of
3.2.5.4 are checked when a spec is built, so every spec in the program is a house the pilot could have had:

* rule 2: a room sensor if and only if the house heats its rooms electrically;
* rule 3: a tank sensor only with electric hot water (it may be missing: the wall was not reachable);
* rule 4: a sub-meter (``powerMeter-#``) on every heating system, its clamps accounting for all of its power;
* rule 5: a relay on every heating system (a common system has one relay).

Specs round-trip through JSON and TOML (:meth:`HouseSpec.to_json`, :func:`fleet_to_toml` and the readers).
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Final


class HouseSpecError(ValueError):
    """A house description breaks a rule of seed 3.2.5.4 or is not physical; the caller must fix the data."""


class Technology(StrEnum):
    """How a heating need is met electrically (seed 3.2.5.3 criterion 3); NONE = not electric."""

    NONE = "none"
    RESISTIVE = "resistive"
    HEAT_PUMP = "heat_pump"


class Load(StrEnum):
    """What a sub-meter clamp measures."""

    SPACE_HEATING = "space_heating"
    DHW = "dhw"
    COMMON = "common"  # one system for both (seed 3.2.5.3 criterion 2)
    PV = "pv"


@dataclass(frozen=True)
class DeviceCounts:
    """How many devices of each kind a house has (the fields of ``goflex.gateway.datamodel.HouseDevices``).

    Attributes:
        ambient_sensors: room temperature sensors (``ambientSensor-#``).
        boiler_sensors: tank wall probes (``boilerSensor-#``).
        power_meters: Home Energy Meters (``powerMeter-#``).
    """

    ambient_sensors: int
    boiler_sensors: int
    power_meters: int


@dataclass(frozen=True)
class ClampWiring:
    """One clamp of one Home Energy Meter around one phase conductor of one load.

    Attributes:
        power_meter: which ``powerMeter-#`` (1-based).
        clamp: which clamp of it, 1..3.
        load: the load whose conductor it surrounds.
        phase: the phase of that conductor, 1..3 (L1..L3).
        share: the fraction of the load's power on that conductor [-] (1/3 per phase of a balanced three-phase
            load, 1 for a single-phase one).
    """

    power_meter: int
    clamp: int
    load: Load
    phase: int
    share: float


@dataclass(frozen=True)
class HouseSpec:
    """One Direct Control house (see the module docstring for the rules checked).

    Attributes:
        number: house number; a pilot house (1..999) is the endpoint ``goflex-dc-<###>``, territory studies
            number up to :data:`MAX_HOUSE_NUMBER` (no endpoint).
        space_heating: technology of the electric space heating (NONE: not electric).
        dhw: technology of the electric domestic hot water (NONE: not electric).
        common_system: one system serves both (then both technologies are equal and there is one relay).
        space_heating_power_w: rated electric power of the space heating [W] (0 without).
        dhw_power_w: rated electric power of the water heater [W] (0 without).
        tank_volume_l: hot-water tank volume [L] (0 without electric hot water).
        heated_area_m2: heated floor area [m2].
        building_loss_w_per_k: heat loss coefficient H of the building [W/K].
        persons: inhabitants.
        annual_base_load_kwh: consumption of everything but the controlled heating [kWh/a].
        pv_kwp: PV peak power [kWp] (0 = no PV).
        pv_azimuth_deg: roof azimuth, 180 = south [deg].
        pv_tilt_deg: roof tilt [deg].
        space_heating_relay: gateway relay (1 or 2) that enables the space heating, None without.
        dhw_relay: gateway relay (1 or 2) that enables the water heater, None without.
        devices: sensor and sub-meter counts.
        clamps: sub-meter wiring.
    """

    number: int
    space_heating: Technology
    dhw: Technology
    common_system: bool
    space_heating_power_w: float
    dhw_power_w: float
    tank_volume_l: float
    heated_area_m2: float
    building_loss_w_per_k: float
    persons: int
    annual_base_load_kwh: float
    pv_kwp: float
    pv_azimuth_deg: float
    pv_tilt_deg: float
    space_heating_relay: int | None
    dhw_relay: int | None
    devices: DeviceCounts
    clamps: tuple[ClampWiring, ...] = field(default=())

    def __post_init__(self) -> None:
        """Check seed 3.2.5.4 and physical ranges.

        Raises:
            HouseSpecError: the description is not a possible pilot house.
        """
        for problem in _problems(self):
            raise HouseSpecError(f"house {self.number}: {problem}")

    @property
    def name(self) -> str:
        """Endpoint name ``goflex-dc-<###>`` (seed 3.2.5.10)."""
        # goflex.gateway.datamodel.endpoint_name builds the same; the twin sits below the gateway (layers).
        return f"goflex-dc-{self.number:03d}"

    @property
    def electric_space_heating(self) -> bool:
        """The rooms are heated electrically."""
        return self.space_heating is not Technology.NONE

    @property
    def electric_dhw(self) -> bool:
        """The hot water is heated electrically."""
        return self.dhw is not Technology.NONE

    @property
    def system_loads(self) -> tuple[Load, ...]:
        """The heating systems, as the loads their sub-meters measure (rule 4)."""
        if self.common_system:
            return (Load.COMMON,)
        systems = []
        if self.electric_space_heating:
            systems.append(Load.SPACE_HEATING)
        if self.electric_dhw:
            systems.append(Load.DHW)
        return tuple(systems)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON/TOML values (enums as strings, no None: absent relays are left out)."""
        data = asdict(self)
        data["space_heating"] = self.space_heating.value
        data["dhw"] = self.dhw.value
        data["clamps"] = [{**asdict(c), "load": c.load.value} for c in self.clamps]
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> HouseSpec:
        """Read :meth:`to_dict`'s output.

        Raises:
            HouseSpecError: missing or mistyped fields, or a spec breaking the rules.
        """
        try:
            d = dict(data)
            devices = d.pop("devices")
            clamps = d.pop("clamps", [])
            relays = {k: d.pop(k, None) for k in ("space_heating_relay", "dhw_relay")}
            assert isinstance(devices, Mapping)
            assert isinstance(clamps, list)
            return cls(
                **{k: _typed(k, v) for k, v in d.items()},  # type: ignore[arg-type]
                **{k: None if v is None else _typed(k, v) for k, v in relays.items()},  # type: ignore[arg-type]
                devices=DeviceCounts(**{str(k): int(v) for k, v in devices.items()}),
                clamps=tuple(
                    ClampWiring(
                        power_meter=int(c["power_meter"]),
                        clamp=int(c["clamp"]),
                        load=Load(c["load"]),
                        phase=int(c["phase"]),
                        share=float(c["share"]),
                    )
                    for c in clamps
                ),
            )
        except HouseSpecError:
            raise
        except (KeyError, TypeError, ValueError, AssertionError) as exc:
            raise HouseSpecError(f"house description unreadable: {exc!r}") from exc

    def to_json(self) -> str:
        """The spec as one JSON object."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HouseSpec:
        """Read :meth:`to_json`'s output.

        Raises:
            HouseSpecError: bad JSON or a spec breaking the rules.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HouseSpecError(f"house JSON unreadable: {exc}") from exc
        if not isinstance(data, dict):
            raise HouseSpecError("house JSON must be an object")
        return cls.from_dict(data)


MAX_HOUSE_NUMBER: Final = 99_999
"""Pilot endpoints are numbered 1..999 (three digits, seed 3.2.5.10); territory studies (no endpoint) go beyond."""

_INT_FIELDS: Final = {"number", "persons", "space_heating_relay", "dhw_relay"}
_ENUM_FIELDS: Final = {"space_heating", "dhw"}


def _typed(key: str, value: object) -> object:
    if key in _ENUM_FIELDS:
        return Technology(str(value))
    if key == "common_system":
        if not isinstance(value, bool):
            raise TypeError(f"{key} must be a boolean")
        return value
    if key in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{key} must be an integer")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{key} must be a number")
    return float(value)


def _problems(s: HouseSpec) -> Iterable[str]:
    if not (isinstance(s.space_heating, Technology) and isinstance(s.dhw, Technology)):
        yield "space_heating and dhw must be Technology values"
        return
    if not 1 <= s.number <= MAX_HOUSE_NUMBER:
        yield f"number must be 1..{MAX_HOUSE_NUMBER}"
    if not (s.electric_space_heating or s.electric_dhw):
        yield "a Direct Control house has at least one electric heating system"
    if s.common_system and (s.space_heating is not s.dhw or not s.electric_space_heating):
        yield "a common system serves space heating and hot water with one technology"
    if (s.devices.ambient_sensors > 0) != s.electric_space_heating:
        yield "a room sensor if and only if the space heating is electric (seed 3.2.5.4 rule 2)"
    if s.devices.boiler_sensors > (1 if s.electric_dhw else 0) or s.devices.boiler_sensors < 0:
        yield "at most one tank sensor, and only with electric hot water (seed 3.2.5.4 rule 3)"
    if s.devices.power_meters < len(s.system_loads):
        yield "a sub-meter on every heating system (seed 3.2.5.4 rule 4)"
    yield from _power_problems(s)
    yield from _relay_problems(s)
    yield from _clamp_problems(s)


def _power_problems(s: HouseSpec) -> Iterable[str]:
    if s.electric_space_heating != (s.space_heating_power_w > 0):
        yield "space_heating_power_w > 0 exactly when the space heating is electric"
    if s.electric_dhw != (s.dhw_power_w > 0) or s.electric_dhw != (s.tank_volume_l > 0):
        yield "dhw_power_w and tank_volume_l > 0 exactly when the hot water is electric"
    if s.persons < 0 or s.annual_base_load_kwh < 0 or s.pv_kwp < 0:
        yield "persons, annual_base_load_kwh and pv_kwp must be >= 0"
    if s.heated_area_m2 <= 0 or s.building_loss_w_per_k <= 0:
        yield "heated_area_m2 and building_loss_w_per_k must be > 0"
    if not (0 <= s.pv_tilt_deg <= 90 and 0 <= s.pv_azimuth_deg < 360):
        yield "pv_tilt_deg in [0, 90] and pv_azimuth_deg in [0, 360)"


def _relay_problems(s: HouseSpec) -> Iterable[str]:
    for relay, electric in ((s.space_heating_relay, s.electric_space_heating), (s.dhw_relay, s.electric_dhw)):
        if electric != (relay is not None) or (relay is not None and relay not in (1, 2)):
            yield "a relay 1 or 2 on every electric heating system, none otherwise (seed 3.2.5.4 rule 5)"
            return
    if s.electric_space_heating and s.electric_dhw and (s.space_heating_relay == s.dhw_relay) != s.common_system:
        yield "a common system has one relay, separate systems have one relay each"


def _clamp_problems(s: HouseSpec) -> Iterable[str]:
    seen = set()
    shares: dict[Load, float] = {}
    for c in s.clamps:
        if not (1 <= c.power_meter <= s.devices.power_meters and 1 <= c.clamp <= 3 and 1 <= c.phase <= 3):
            yield f"clamp {c}: power_meter 1..{s.devices.power_meters}, clamp and phase 1..3"
        if (c.power_meter, c.clamp) in seen:
            yield f"clamp {c.clamp} of powerMeter-{c.power_meter} is wired twice"
        seen.add((c.power_meter, c.clamp))
        if not 0 < c.share <= 1:
            yield f"clamp {c}: share must be in (0, 1]"
        shares[c.load] = shares.get(c.load, 0.0) + c.share
    expected = set(s.system_loads) | ({Load.PV} if s.pv_kwp > 0 else set())
    if not set(shares) <= expected:
        yield f"clamps on loads the house does not have: {sorted(set(shares) - expected)}"
    for load in s.system_loads:
        if not math.isclose(shares.get(load, 0.0), 1.0, abs_tol=1e-6):
            yield f"the clamps of the {load.value} system must see all of its power (seed 3.2.5.4 rule 4)"


def fleet_to_toml(specs: Sequence[HouseSpec]) -> str:
    """Houses as a TOML document: one ``[[house]]`` table each, with ``[house.devices]`` and ``[[house.clamps]]``."""
    lines: list[str] = []
    for spec in specs:
        data = spec.to_dict()
        devices = data.pop("devices")
        clamps = data.pop("clamps")
        assert isinstance(devices, dict)
        assert isinstance(clamps, list)
        lines.append("[[house]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in data.items()]
        lines.append("[house.devices]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in devices.items()]
        for clamp in clamps:
            lines.append("[[house.clamps]]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in clamp.items()]
        lines.append("")
    return "\n".join(lines)


def fleet_from_toml(text: str) -> list[HouseSpec]:
    """Read :func:`fleet_to_toml`'s output.

    Raises:
        HouseSpecError: bad TOML or a house breaking the rules.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise HouseSpecError(f"fleet TOML unreadable: {exc}") from exc
    houses = doc.get("house", [])
    if not isinstance(houses, list):
        raise HouseSpecError("fleet TOML: [[house]] must be an array of tables")
    return [HouseSpec.from_dict(h) for h in houses]


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # repr round-trips floats exactly and is valid TOML
    return json.dumps(str(value))  # a JSON string with escapes is a valid TOML basic string
