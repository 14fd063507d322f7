"""FlexOffers of wet devices (washing machine, dishwasher, tumble dryer): a cycle whose start may be delayed.

Flexoffer.md 2: "the start is delayed up to a maximum; the profile comes from past cycles". The offer's profile
is the cycle's energy per slot (fixed: lower = upper), its window ``[EST, EST + max_delay]``; the baseline starts
the cycle at once. The market buys the shift: pay-as-bid on the deviation per slot, so the same price is asked
both ways.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from goflex.flex.foa.errors import InvalidDeviceState
from goflex.flex.foa.framing import SLOT_S, OfferTiming, SliceSpec, build_offer
from goflex.flex.model import FlexOffer


@dataclass(frozen=True, slots=True)
class WetCycle:
    """A programmed cycle.

    Attributes:
        profile_kwh: energy per 15-min slot of the cycle [kWh] (>= 0, at least one slot), learnt from past cycles.
        max_delay_slots: how many slots the start may be delayed [slots] (>= 0), set by the user ("ready by").
    """

    profile_kwh: Sequence[float]
    max_delay_slots: int

    def __post_init__(self) -> None:
        """Raises: InvalidDeviceState: an empty or negative profile, or a negative delay."""
        if not self.profile_kwh or min(self.profile_kwh) < 0:
            raise InvalidDeviceState("profile_kwh", "need at least one slot, every energy >= 0")
        if self.max_delay_slots < 0:
            raise InvalidDeviceState("max_delay_slots", "must be >= 0")


def wet_offer(
    cycle: WetCycle,
    *,
    offer_id: str,
    offered_by_id: str,
    timing: OfferTiming,
    price_eur_per_kwh: float | None = None,
    location_id: str | None = None,
) -> FlexOffer:
    """The cycle offered from the earliest start, delayable by ``cycle.max_delay_slots`` slots."""
    start = timing.earliest_start()
    price = price_eur_per_kwh
    return build_offer(
        offer_id=offer_id,
        offered_by_id=offered_by_id,
        timing=timing,
        start=start,
        latest_start=start + timedelta(seconds=SLOT_S * cycle.max_delay_slots),
        slices=[SliceSpec(e, e, e, price, price) for e in cycle.profile_kwh],
        location_id=location_id,
    )
