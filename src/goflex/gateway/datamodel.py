"""The cloud.iO data model of a Direct Control house, with the exact names of seed Appendix 4 and Table 6.

Endpoint ``goflex-dc-<###>``; nodes ``ambientSensor-#``, ``boilerSensor-#``, ``powerMeter-#`` (Z-Wave devices, the
only ones that may appear several times in a house), ``SmartMeterBilling`` / ``SmartMeterEnergy`` /
``SmartMeterTechnical`` (the three groups of the smart meter) and ``gateway`` (relays and the On-Auto switch).
Measured values sit in an attribute named ``datapoint``, commands in ``parameter``; smart-meter objects are named
from their OBIS code as ``obis_<A>_<B>_<C>_<D>_<E>_<F>_2`` (the trailing 2 is the COSEM attribute: the value).

Which sensors a house has follows seed 3.2.5.4 and is given by :class:`HouseDevices`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from goflex.cloudio.model import Attribute, AttributeType, Constraint, EndpointModel, Node, ObjectModel, attr, endpoint
from goflex.cloudio.model import node as make_node
from goflex.cloudio.model import obj as make_obj

_ENDPOINT_NAME: Final = re.compile(r"^goflex-dc-\d{3}$")

# seed Appendix 4.1.4: billing registers, once a day [kWh].
BILLING_OBIS: Final = ("1.1.1.8.1.255", "1.1.1.8.2.255", "1.1.2.8.1.255", "1.1.2.8.2.255")
# seed Appendix 4.1.5: energy registers every 15 min [kWh] (active) and [kvarh] (reactive quadrants).
ENERGY_OBIS: Final = (
    "1.1.1.8.0.255",
    "1.1.2.8.0.255",
    "1.1.5.8.0.255",
    "1.1.6.8.0.255",
    "1.1.7.8.0.255",
    "1.1.8.8.0.255",
)
# seed Appendix 4.1.6: instantaneous active power import (+P) and export (-P), every second [W].
TECHNICAL_OBIS: Final = ("1.0.1.7.0.255", "1.0.2.7.0.255")

# seed Appendix 4.1.3: the Aeotec Home Energy Meter's objects (three clamps and the total).
POWER_METER_OBJECTS: Final = (
    "kWhClamp1",
    "kWhClamp2",
    "kWhClamp3",
    "kWhTotal",
    "wattsClamp1",
    "wattsClamp2",
    "wattsClamp3",
    "wattsTotal",
)


def endpoint_name(house_number: int) -> str:
    """``goflex-dc-<###>`` for a house number 0..999 (seed 3.2.5.10)."""
    if not 0 <= house_number <= 999:
        raise ValueError(f"house number {house_number}: must be 0..999 (three digits)")
    return f"goflex-dc-{house_number:03d}"


def obis_object_name(obis: str) -> str:
    """Object name of an OBIS code: ``"1.0.1.7.0.255"`` -> ``"obis_1_0_1_7_0_255_2"`` (seed Appendix 4)."""
    groups = obis.split(".")
    if len(groups) != 6 or not all(g.isdigit() and int(g) <= 255 for g in groups):
        raise ValueError(f"OBIS code {obis!r}: expected six groups A.B.C.D.E.F of 0..255")
    return "obis_" + "_".join(groups) + "_2"


@dataclass(frozen=True)
class HouseDevices:
    """Which devices a house has (seed 3.2.5.4).

    Attributes:
        ambient_sensors: rooms with a temperature sensor (houses with electric space heating).
        boiler_sensors: tank probes (houses with electric domestic hot water).
        power_meters: Aeotec Home Energy Meters (one per heating system).
    """

    ambient_sensors: int = 1
    boiler_sensors: int = 1
    power_meters: int = 1


def _measure(type_: AttributeType = AttributeType.NUMBER) -> ObjectModel:
    return make_obj(datapoint=attr(Constraint.MEASURE, type_))


def _status_bool() -> ObjectModel:
    return make_obj(datapoint=attr(Constraint.STATUS, AttributeType.BOOLEAN))


def _relay_control() -> ObjectModel:
    # seed Appendix 4.2.1: relay commands, default true (relay closed = heating enabled).
    control: Attribute = attr(Constraint.PARAMETER, AttributeType.BOOLEAN, True)
    return make_obj(parameter=control)


def direct_control_model(name: str, devices: HouseDevices | None = None) -> EndpointModel:
    """The endpoint model of one Direct Control house.

    Raises:
        ValueError: ``name`` is not ``goflex-dc-<###>``.
    """
    if not _ENDPOINT_NAME.match(name):
        raise ValueError(f"endpoint name {name!r}: Direct Control houses are named goflex-dc-<###>")
    devices = devices or HouseDevices()
    nodes: dict[str, Node] = {}
    for i in range(1, devices.ambient_sensors + 1):
        nodes[f"ambientSensor-{i}"] = make_node({"temperature": _measure()})
    for i in range(1, devices.boiler_sensors + 1):
        nodes[f"boilerSensor-{i}"] = make_node({"temperature": _measure()})
    for i in range(1, devices.power_meters + 1):
        nodes[f"powerMeter-{i}"] = make_node({o: _measure() for o in POWER_METER_OBJECTS})
    nodes["SmartMeterBilling"] = make_node({obis_object_name(c): _measure() for c in BILLING_OBIS})
    nodes["SmartMeterEnergy"] = make_node({obis_object_name(c): _measure() for c in ENERGY_OBIS})
    nodes["SmartMeterTechnical"] = make_node({obis_object_name(c): _measure() for c in TECHNICAL_OBIS})
    nodes["gateway"] = make_node(
        {
            "relay1State": _status_bool(),
            "relay2State": _status_bool(),
            "switchState": _status_bool(),  # auto: true (1) / manual: false (0), seed Appendix 4.1.7
            "relay1Control": _relay_control(),
            "relay2Control": _relay_control(),
        }
    )
    return endpoint(name, nodes)
