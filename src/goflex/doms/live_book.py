"""The market's open bids as the optimiser's flexibility (:class:`goflex.doms.optimiser.ShedOffer`) (pure).

The live DOMS does not own devices: what it can shed is what sellers offer on FMAR. Each open bid of
``GET /orderbook`` (trading contract) gives per slice its bounds, baseline and the price asked for consuming less
(``priceDownEurPerKwh``, None = not offered). The book becomes one :class:`ShedOffer` named ``market``:

* capacity [MW] of quarter ``q`` = sum over the bids whose window can cover ``q`` (a start in
  ``[startAfterTime, startBeforeTime]``, or the fixed ``startTime``) of their mean down flexibility per slot
  (``baseline - lower`` of the priced slices, spread evenly over each slice's slots, seed flexoffer.md 3), in
  MW of the demo balance group: kWh per quarter x 4 / 1000;
* price [EUR/MWh] = the energy-weighted mean asked down price x 1000;
* durations: 1, 2 and 4 quarters, no longer than the longest bid;
* duty and rebound factor: settings (a bid says nothing about the recovery; water heaters recover about the
  energy they missed at full power, physics-and-grid.md 3).

This is an approximation the optimiser can work with: a bid has one start for all its slots, which the LP does
not know, so the capacity is an upper bound; the market's matching then gives what really exists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from goflex.doms.optimiser import ShedOffer

SLOT_S = 900
MARKET_OFFER = "market"


@dataclass(frozen=True)
class BookSettings:
    """How the book is read.

    Attributes:
        duty: the offered devices' baseline over installed power [-] in (0, 1) (sets the rebound's power).
        rebound_factor: rebound energy per energy shed [-] (> 0).
        durations: block lengths the optimiser may choose [quarters].
    """

    duty: float = 0.3
    rebound_factor: float = 1.0
    durations: tuple[int, ...] = (1, 2, 4)


class BookError(ValueError):
    """The order book's JSON does not have the contract's shape (the message names the field)."""


def _slot(text: object, where: str) -> int:
    if not isinstance(text, str):
        raise BookError(f"{where}: expected an ISO 8601 time, got {text!r}")
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()) // SLOT_S
    except ValueError as exc:
        raise BookError(f"{where}: {exc}") from exc


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BookError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class BookBid:
    """What DOMS reads of one open bid.

    Attributes:
        first_slot, last_start: earliest and latest start [slot index].
        down_kwh: down flexibility per slot of its profile [kWh] (0 where not offered).
        price_eur_per_kwh: energy-weighted asked down price [EUR/kWh] (NaN when nothing is offered down).
    """

    first_slot: int
    last_start: int
    down_kwh: tuple[float, ...]
    price_eur_per_kwh: float

    @property
    def mean_down_kwh(self) -> float:
        """Mean down flexibility per slot of the profile [kWh]."""
        return sum(self.down_kwh) / len(self.down_kwh) if self.down_kwh else 0.0


def parse_bid(bid: Mapping[str, Any], where: str = "sell[]") -> BookBid:
    """Read one ``sell`` entry of ``GET /orderbook``.

    Raises:
        BookError: a missing or malformed field (named).
    """
    fixed = bid.get("startTime")
    if fixed is not None:
        first = last = _slot(fixed, f"{where}.startTime")
    else:
        first = _slot(bid.get("startAfterTime"), f"{where}.startAfterTime")
        last = _slot(bid.get("startBeforeTime"), f"{where}.startBeforeTime")
    slices = bid.get("slices")
    if not isinstance(slices, list) or not slices:
        raise BookError(f"{where}.slices: expected a non-empty list")
    down: list[float] = []
    paid = energy = 0.0
    for i, s in enumerate(slices):
        w = f"{where}.slices[{i}]"
        if not isinstance(s, Mapping):
            raise BookError(f"{w}: expected an object")
        duration = s.get("duration")
        if not isinstance(duration, int) or isinstance(duration, bool) or duration < 1:
            raise BookError(f"{w}.duration: expected an integer >= 1")
        price = s.get("priceDownEurPerKwh")
        flex = 0.0
        if price is not None:
            flex = max(
                _number(s.get("baselineKwh"), f"{w}.baselineKwh") - _number(s.get("lowerKwh"), f"{w}.lowerKwh"), 0.0
            )
            paid += flex * _number(price, f"{w}.priceDownEurPerKwh")
            energy += flex
        down += [flex / duration] * duration
    return BookBid(first, max(first, last), tuple(down), paid / energy if energy > 0 else math.nan)


def market_offer(
    sell: Sequence[Mapping[str, Any]], *, first_slot: int, horizon: int, settings: BookSettings
) -> tuple[ShedOffer | None, int]:
    """The book's bids as one offer over slots ``first_slot .. first_slot + horizon - 1``.

    Malformed bids are skipped (and counted): one seller's bad entry must not blind DOMS to the others.

    Returns:
        The offer (None when nothing is offered down in the horizon) and the number of bids skipped.
    """
    cap_kwh = np.zeros(horizon)
    paid = energy = 0.0
    longest = 0
    skipped = 0
    for i, raw in enumerate(sell):
        try:
            bid = parse_bid(raw, f"sell[{i}]")
        except BookError:
            skipped += 1
            continue
        if not bid.mean_down_kwh > 0:
            continue
        lo = max(bid.first_slot - first_slot, 0)
        hi = min(bid.last_start + len(bid.down_kwh) - first_slot, horizon)
        if hi <= lo:
            continue
        cap_kwh[lo:hi] += bid.mean_down_kwh
        paid += bid.price_eur_per_kwh * bid.mean_down_kwh
        energy += bid.mean_down_kwh
        longest = max(longest, len(bid.down_kwh))
    if energy <= 0:
        return None, skipped
    durations = tuple(d for d in settings.durations if d <= longest) or (1,)
    offer = ShedOffer(
        name=MARKET_OFFER,
        cap_mw=cap_kwh * 4.0 / 1000.0,
        durations=durations,
        duty=settings.duty,
        rebound_factor=settings.rebound_factor,
        cost_eur_per_mwh=paid / energy * 1000.0,
    )
    return offer, skipped


__all__ = ["MARKET_OFFER", "BookBid", "BookError", "BookSettings", "market_offer", "parse_bid"]
