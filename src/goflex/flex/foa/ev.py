"""FlexOffers of EV charging: energy by a deadline (pure; flexoffer.md 2, seed 3.2.3).

A car plugged in needs ``energy_kwh`` before it leaves. The offer has one slice per slot from the earliest start
to the last slot ending by the departure, each bounded by the charger's power ``[min_power_w, max_power_w]``
(energy per slot), and a total-energy constraint ``[energy_kwh, energy_kwh]`` (the car needs that much, no more):
any schedule of the offer delivers exactly the energy by the deadline. Baseline: charge at full power from the
start (what a charger does without control) until the energy is in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.foa.framing import SLOT_S, OfferTiming, SliceSpec, build_offer, slot_energy_kwh
from goflex.flex.model import FlexOffer


@dataclass(frozen=True, slots=True)
class ChargingSession:
    """A car at a charger.

    Attributes:
        energy_kwh: energy still needed at the meter [kWh] (> 0).
        departure: when the car leaves (aware UTC).
        max_power_w: charger and car limit [W] (> 0), e.g. 11 kW for a three-phase wallbox.
        min_power_w: least power once charging [W] (0 = may pause; IEC 61851 needs >= 6 A when on, which
            standard FlexOffers cannot express as "0 or >= 1.4 kW", so 0 is the usual choice).
    """

    energy_kwh: float
    departure: datetime
    max_power_w: float
    min_power_w: float = 0.0

    def __post_init__(self) -> None:
        """Raises: InvalidDeviceState: a value out of range."""
        if self.energy_kwh <= 0:
            raise InvalidDeviceState("energy_kwh", "must be > 0")
        if self.max_power_w <= 0 or not 0 <= self.min_power_w <= self.max_power_w:
            raise InvalidDeviceState("max_power_w", "need 0 <= min_power_w <= max_power_w and max_power_w > 0")
        if self.departure.tzinfo is None:
            raise InvalidDeviceState("departure", "must be an aware UTC datetime")


def ev_offer(
    session: ChargingSession,
    *,
    offer_id: str,
    offered_by_id: str,
    timing: OfferTiming,
    price_down_eur_per_kwh: float,
    price_up_eur_per_kwh: float,
    location_id: str | None = None,
) -> FlexOffer:
    """An offer delivering ``session.energy_kwh`` between the earliest start and the departure.

    Raises:
        InvalidDeviceState: the departure is too close for the energy at full power (the caller charges at full
            power without offering), or too close for even one slot.
    """
    start = timing.earliest_start()
    slots = math.floor((session.departure - start).total_seconds() / SLOT_S)
    if slots < 1:
        raise InvalidDeviceState("departure", "leaves before one whole slot after the earliest start")
    high = slot_energy_kwh(session.max_power_w)
    low = slot_energy_kwh(session.min_power_w)
    if session.energy_kwh > slots * high + 1e-9:
        raise InvalidDeviceState("energy_kwh", f"{session.energy_kwh} kWh cannot be charged in {slots} slots")
    if session.energy_kwh < slots * low - 1e-9:
        raise InvalidDeviceState("min_power_w", "the minimum power over the window exceeds the energy needed")
    baseline: list[float] = []
    left = session.energy_kwh
    for _ in range(slots):
        # full power first; never below the minimum power, and the rest spread so the minimum still fits
        amount = max(low, min(high, left - low * (slots - len(baseline) - 1)))
        baseline.append(amount)
        left -= amount
    return build_offer(
        offer_id=offer_id,
        offered_by_id=offered_by_id,
        timing=timing,
        start=start,
        slices=[SliceSpec(low, high, b, price_down_eur_per_kwh, price_up_eur_per_kwh) for b in baseline],
        total_kwh=(session.energy_kwh, session.energy_kwh),
        location_id=location_id,
    )
