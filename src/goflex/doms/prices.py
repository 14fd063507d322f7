"""Imbalance price models and the imbalance penalty (physics-and-grid.md 6; issue 5 sections 2 and 3) (pure).

Sign convention: an imbalance ``E`` [MWh] is measured load minus day-ahead forecast, so ``E > 0`` means the
balance group is *short* (it consumed more than it bought and must buy the rest at the short price) and
``E < 0`` means *long* (it sells the surplus at the long price).

The penalty is the cost of the imbalance relative to having traded it at spot (issue 5 section 3)::

    short: E   x (p_short - spot)
    long:  |E| x (spot - p_long)

so each model reduces to two per-quarter *penalty rates* [EUR/MWh]: ``short_rate = p_short - spot`` and
``long_rate = spot - p_long``. The optimiser needs ``short_rate + long_rate >= 0`` (a convex penalty): true for
the two-price rule (both >= 0), zero for a single price (a linear term), and for flat prices.

Models (pluggable, :class:`PriceModel`):

* :class:`TwoPrice` (pilot era, until 2025): the file's short/long prices when given, else
  ``p_short = spot + (f_short - 1) |spot|`` and ``p_long = spot - (1 - f_long) |spot|`` with factors 1.1 and
  0.9, i.e. ``max(spot, ...) x 1.1`` and ``min(spot, ...) x 0.9`` of physics-and-grid.md 6 without control-energy
  prices, written with ``|spot|`` so that negative spot prices still penalise both directions.
* :class:`SinglePrice` (since 1 January 2026): one imbalance price for both directions, the file's short price
  when given else ``spot`` plus a premium; the penalty is then ``E x (p - spot)`` whatever the sign.
* :class:`FlatPrice` (tests): a constant penalty per MWh in either direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from goflex.common import GoflexError

F64 = NDArray[np.float64]


class PriceError(GoflexError):
    """A price model was given inconsistent inputs (the message names the field)."""


@dataclass(frozen=True)
class PenaltyRates:
    """Per-quarter penalty rates [EUR/MWh], arrays of one length.

    Attributes:
        short_eur_per_mwh: cost of each MWh short (``p_short - spot``).
        long_eur_per_mwh: cost of each MWh long (``spot - p_long``; negative = a long position earns).
    """

    short_eur_per_mwh: F64
    long_eur_per_mwh: F64

    def __post_init__(self) -> None:
        if self.short_eur_per_mwh.shape != self.long_eur_per_mwh.shape:
            raise PriceError("short_eur_per_mwh and long_eur_per_mwh must have the same shape")
        if np.any(self.short_eur_per_mwh + self.long_eur_per_mwh < -1e-9):
            raise PriceError("short_eur_per_mwh + long_eur_per_mwh must be >= 0 (a convex penalty)")

    def window(self, start: int, length: int) -> PenaltyRates:
        """Rates of quarters ``start .. start + length - 1``, repeating the last quarter past the end."""
        n = self.short_eur_per_mwh.size
        idx = np.minimum(np.arange(start, start + length), n - 1)
        return PenaltyRates(self.short_eur_per_mwh[idx], self.long_eur_per_mwh[idx])


def penalty_eur(imbalance_mwh: F64, rates: PenaltyRates) -> F64:
    """Penalty of each quarter [EUR] (issue 5 section 3).

    Args:
        imbalance_mwh: imbalance energy per quarter [MWh], positive = short.
        rates: penalty rates of the same quarters.
    """
    e = np.asarray(imbalance_mwh, dtype=np.float64)
    return np.asarray(np.where(e >= 0, e * rates.short_eur_per_mwh, -e * rates.long_eur_per_mwh), dtype=np.float64)


class PriceModel(Protocol):
    """Turns a quarter's spot (and optional file imbalance prices) into penalty rates."""

    @property
    def name(self) -> str:
        """The model's name (``--prices`` of ``goflex doms evaluate``)."""
        ...

    def rates(self, spot_eur_mwh: F64, short_eur_mwh: F64 | None, long_eur_mwh: F64 | None) -> PenaltyRates:
        """Penalty rates per quarter [EUR/MWh] (arrays of one length: one value per quarter)."""
        ...


def _check_pair(spot: F64, short: F64 | None, long_: F64 | None) -> None:
    if (short is None) != (long_ is None):
        raise PriceError("price_short_eur_mwh and price_long_eur_mwh go together")
    for name, values in (("price_short_eur_mwh", short), ("price_long_eur_mwh", long_)):
        if values is not None and values.shape != spot.shape:
            raise PriceError(f"{name} must have one value per quarter like spot_eur_mwh")


@dataclass(frozen=True)
class TwoPrice:
    """Two prices per quarter (pilot era): the file's, else spot x 1.1 short and spot x 0.9 long.

    Attributes:
        short_factor: factor on spot for the short price (> 1).
        long_factor: factor on spot for the long price (< 1).
    """

    short_factor: float = 1.1
    long_factor: float = 0.9
    name: str = "two-price"

    def rates(self, spot_eur_mwh: F64, short_eur_mwh: F64 | None, long_eur_mwh: F64 | None) -> PenaltyRates:
        """Penalty rates; with file prices, ``p_short`` is at least spot and ``p_long`` at most spot."""
        spot = np.asarray(spot_eur_mwh, dtype=np.float64)
        _check_pair(spot, short_eur_mwh, long_eur_mwh)
        if short_eur_mwh is None or long_eur_mwh is None:
            # physics-and-grid.md 6: x1.1 / x0.9, written on |spot| so negative prices still penalise
            short = spot + (self.short_factor - 1.0) * np.abs(spot)
            long_ = spot - (1.0 - self.long_factor) * np.abs(spot)
        else:
            short, long_ = np.maximum(short_eur_mwh, spot), np.minimum(long_eur_mwh, spot)
        return PenaltyRates(short - spot, spot - long_)


@dataclass(frozen=True)
class SinglePrice:
    """One imbalance price for both directions (Switzerland since 1 January 2026).

    Attributes:
        premium_eur_mwh: imbalance price above spot when the file gives no price [EUR/MWh].
    """

    premium_eur_mwh: float = 5.0
    name: str = "single-price"

    def rates(self, spot_eur_mwh: F64, short_eur_mwh: F64 | None, long_eur_mwh: F64 | None) -> PenaltyRates:
        """Penalty rates ``p - spot`` short and ``spot - p`` long; the file's short price is the single price."""
        spot = np.asarray(spot_eur_mwh, dtype=np.float64)
        _check_pair(spot, short_eur_mwh, long_eur_mwh)
        price = spot + self.premium_eur_mwh if short_eur_mwh is None else np.asarray(short_eur_mwh)
        return PenaltyRates(price - spot, spot - price)


@dataclass(frozen=True)
class FlatPrice:
    """The same penalty for every MWh of imbalance in either direction (for tests and what-ifs).

    Attributes:
        eur_per_mwh: penalty per MWh of imbalance [EUR/MWh] (>= 0).
    """

    eur_per_mwh: float = 10.0
    name: str = "flat"

    def rates(self, spot_eur_mwh: F64, short_eur_mwh: F64 | None, long_eur_mwh: F64 | None) -> PenaltyRates:
        """Constant rates, whatever the prices.

        Raises:
            PriceError: a negative penalty.
        """
        del short_eur_mwh, long_eur_mwh
        if self.eur_per_mwh < 0:
            raise PriceError("eur_per_mwh must be >= 0")
        flat = np.full(np.shape(spot_eur_mwh), self.eur_per_mwh, dtype=np.float64)
        return PenaltyRates(flat, flat.copy())


PRICE_MODELS: dict[str, PriceModel] = {"two-price": TwoPrice(), "single-price": SinglePrice(), "flat": FlatPrice()}
"""The models by name (``--prices`` of ``goflex doms evaluate``)."""
