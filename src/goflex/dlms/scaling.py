"""Per-model scaling of pushed register values (meter-cii.md, "OBIS codes and scaling").

The CII push carries no scaler_unit: the scale is a property of the meter model and firmware, so it is a table
here, matched on the C.D.E groups of the OBIS code (energy registers carry B = 1, instantaneous values B = 0).
A table entry is a decimal exponent: the value in W, Wh, var, varh, V, A (or a plain number) is raw * 10**exp.
Unscaled values (exponent 0) stay ints; scaled ones become floats rounded to the exponent's decimals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from goflex.dlms.errors import InvalidSetting
from goflex.dlms.obis import Obis


@dataclass(frozen=True)
class ScalingTable:
    """Decimal exponents by ``"C.D.E"``; objects not listed are taken as they are (exponent 0)."""

    exponents: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for cde, exponent in self.exponents.items():
            if len(cde.split(".")) != 3 or not all(g.isdigit() for g in cde.split(".")):
                raise InvalidSetting(f"scaling key {cde!r} is not C.D.E")
            if not -9 <= exponent <= 9:
                raise InvalidSetting(f"scaling exponent {exponent} for {cde} outside -9..9")
        object.__setattr__(self, "exponents", MappingProxyType(dict(self.exponents)))

    def exponent(self, obis: Obis) -> int:
        """The decimal exponent for ``obis`` (0 when not listed)."""
        return self.exponents.get(obis.cde, 0)

    def scale(self, obis: Obis, raw: int | float) -> int | float:
        """The physical value of a raw register value."""
        exponent = self.exponent(obis)
        if exponent == 0:
            return raw
        if exponent > 0:
            return float(raw * 10**exponent)
        # divide (not multiply by 0.01): 9 / 100 is exactly the float nearest 0.09
        scaled: float = round(raw / 10**-exponent, -exponent)
        return scaled

    def unscale(self, obis: Obis, value: int | float) -> int:
        """The raw register value that represents ``value`` (rounded to the nearest step)."""
        exponent = self.exponent(obis)
        raw: int = round(value * 10**-exponent) if exponent <= 0 else round(value / 10**exponent)
        return raw


def _common(voltage_exponent: int) -> dict[str, int]:
    table = {f"{c}.7.0": 0 for c in (1, 2, 3, 4)}  # power [W], [var]
    table |= {f"{c}.8.{t}": 0 for c in range(1, 9) for t in range(5)}  # energy [Wh], [varh], total and tariffs
    table["13.7.0"] = -3  # power factor
    table |= {f"{c}.7.0": voltage_exponent for c in (32, 52, 72)}  # voltage [V]
    table |= {f"{c}.7.0": -2 for c in (31, 51, 71)}  # current [A]
    return table


E450 = ScalingTable(_common(voltage_exponent=0))
E360 = ScalingTable(_common(voltage_exponent=-1))
MODELS: Mapping[str, ScalingTable] = MappingProxyType({"e450": E450, "e360": E360})


def scaling_for(model: str) -> ScalingTable:
    """The table of a meter model (``"e450"`` or ``"e360"``, case-insensitive).

    Raises:
        InvalidSetting: unknown model.
    """
    try:
        return MODELS[model.lower()]
    except KeyError:
        raise InvalidSetting(f"unknown meter model {model!r} (known: {', '.join(MODELS)})") from None
