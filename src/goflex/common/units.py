"""Units and the conventions that cross parts (DESIGN.md 4).

Quantities travel as plain floats whose unit is in the name (``power_w``, ``energy_kwh``, ``temp_c``,
``price_eur_per_mwh``). Sign: positive = consumption at every internal boundary. This module holds the few
conversions and the market time grid so that nobody writes ``* 1000`` or ``// 900`` by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

MARKET_TIME_UNIT_S: Final = 900
"""The market time unit: 15 minutes [s]. Intervals are ``[start, end)``."""

W_PER_KW: Final = 1000.0
WH_PER_KWH: Final = 1000.0
S_PER_H: Final = 3600.0


def w_to_kw(power_w: float) -> float:
    """Convert [W] to [kW]."""
    return power_w / W_PER_KW


def kw_to_w(power_kw: float) -> float:
    """Convert [kW] to [W]."""
    return power_kw * W_PER_KW


def energy_kwh(power_w: float, duration_s: float) -> float:
    """Energy [kWh] of a constant power [W] held for ``duration_s`` [s]."""
    return power_w * duration_s / S_PER_H / WH_PER_KWH


def interval_index(t: datetime) -> int:
    """Index of the 15-minute market interval containing ``t`` (epoch seconds // 900).

    Raises:
        ValueError: ``t`` is naive (goflex uses aware UTC datetimes only).
    """
    if t.tzinfo is None:
        raise ValueError("naive datetime: goflex uses aware UTC datetimes")
    return int(t.timestamp()) // MARKET_TIME_UNIT_S


def interval_start(index: int) -> datetime:
    """Start (aware UTC) of the market interval ``index``."""
    return datetime.fromtimestamp(index * MARKET_TIME_UNIT_S, UTC)
