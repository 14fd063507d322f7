"""Builders of bids (FlexOffers with a baseline and prices) shared by the FMAR tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from goflex.flex.model import (
    EnergyConstraint,
    FlexOffer,
    FlexOfferState,
    ProfileSlice,
    Schedule,
    ScheduleSlice,
    TariffConstraint,
)

T0 = datetime(2026, 1, 22, 9, 0, tzinfo=UTC)
"""Start of the first slot the tests trade."""
NOW = T0 - timedelta(hours=3)
"""Market time in the tests: 06:00, before every deadline."""
SLOT = timedelta(minutes=15)

# (duration [slots], lower, upper, price_down, price_up) per slice; a price of None = no tariff constraint.
SliceSpec = tuple[int, float, float, float | None, float | None]


def bid_offer(
    offer_id: str,
    slices: list[SliceSpec],
    base: list[float],
    *,
    est: int = 0,
    tf: int = 0,
    tec: tuple[float, float] | None = None,
    deadline: datetime | None = None,
    location: str | None = None,
) -> FlexOffer:
    """A bid starting ``est`` slots after 09:00 with ``tf`` slots of time flexibility."""
    profile = []
    for d, lo, hi, down, up in slices:
        tariff = None if down is None or up is None else TariffConstraint(-down, up)
        profile.append(ProfileSlice(d, d, (EnergyConstraint(lo, hi),), tariff))
    start = T0 + est * SLOT
    return FlexOffer(
        id=offer_id,
        state=FlexOfferState.OFFERED,
        offered_by_id="aggregator",
        creation_time=NOW - timedelta(hours=1),
        accept_before_time=NOW,
        assignment_before_time=deadline or T0 - timedelta(hours=1),
        start_after_time=start,
        start_before_time=start + tf * SLOT,
        profile=tuple(profile),
        total_energy_constraint=None if tec is None else EnergyConstraint(*tec),
        default_schedule=Schedule(start, tuple(ScheduleSlice(s[0], b) for s, b in zip(slices, base, strict=True))),
        location_id=location,
    )
