"""Which smart-meter value goes to which cloud.iO attribute, in which unit (seed Table 3, Appendix 4; pure).

A push carries ``"1-1:1.8.0" -> 482939`` (Wh); the pilot publishes it as
``SmartMeterEnergy/obis_1_1_1_8_0_255_2/datapoint`` in kWh. Energy registers (C = 1..8, D = 8) are divided by
1000 (Wh -> kWh, varh -> kvarh, Appendix 4.1.4-4.1.5); powers stay in W (Appendix 4.1.6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from goflex.gateway.datamodel import BILLING_OBIS, ENERGY_OBIS, TECHNICAL_OBIS, obis_object_name

GROUP_NODES: Final = {
    "technical": "SmartMeterTechnical",
    "energy": "SmartMeterEnergy",
    "billing": "SmartMeterBilling",
}


@dataclass(frozen=True)
class MeterSeries:
    """One published meter value.

    Attributes:
        group: sampling group (``technical``, ``energy``, ``billing``).
        node: cloud.iO node.
        obj: cloud.iO object (``obis_..._2``).
        factor: multiply the pushed value by this (1/1000 for energy registers).
    """

    group: str
    node: str
    obj: str
    factor: float


def push_key(obis: str) -> str:
    """``"1.1.1.8.0.255"`` -> ``"1-1:1.8.0"`` (the key of :attr:`goflex.dlms.Push.values`)."""
    a, b, c, d, e, _f = obis.split(".")
    return f"{a}-{b}:{c}.{d}.{e}"


def _series() -> dict[str, MeterSeries]:
    out: dict[str, MeterSeries] = {}
    for group, codes, factor in (
        ("technical", TECHNICAL_OBIS, 1.0),
        ("energy", ENERGY_OBIS, 1e-3),
        ("billing", BILLING_OBIS, 1e-3),
    ):
        for code in codes:
            out[push_key(code)] = MeterSeries(group, GROUP_NODES[group], obis_object_name(code), factor)
    return out


METER_SERIES: Final = _series()


def meter_values(values: Mapping[str, int | float | str]) -> list[tuple[MeterSeries, float]]:
    """The published series among a push's values, converted to the published unit (text values skipped)."""
    out: list[tuple[MeterSeries, float]] = []
    for key, value in values.items():
        series = METER_SERIES.get(key)
        if series is not None and isinstance(value, int | float) and not isinstance(value, bool):
            out.append((series, round(value * series.factor, 6)))
    return out
