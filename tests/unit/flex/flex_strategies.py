"""Hypothesis strategies for fixed-duration FlexOffers and schedules of aggregates (shared by the flex tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from goflex.flex import EnergyConstraint, FlexOffer, FlexOfferState, ProfileSlice, Schedule, ScheduleSlice

ORIGIN = datetime(2026, 1, 22, 0, 0, tzinfo=UTC)
STEP = timedelta(seconds=900)

_energy = st.integers(min_value=-20, max_value=20).map(lambda n: n / 4)  # quarter kWh keeps sums readable


def fixed_offer(offer_id: str, est: int, tf: int, *slices: tuple[int, float, float]) -> FlexOffer:
    """An offer starting ``est`` intervals after 04:00 with ``tf`` intervals of flexibility."""
    return FlexOffer(
        id=offer_id,
        state=FlexOfferState.OFFERED,
        offered_by_id="house",
        creation_time=ORIGIN,
        accept_before_time=ORIGIN + timedelta(hours=1),
        assignment_before_time=ORIGIN + timedelta(hours=2),
        start_after_time=ORIGIN + timedelta(hours=4) + est * STEP,
        start_before_time=ORIGIN + timedelta(hours=4) + (est + tf) * STEP,
        profile=tuple(ProfileSlice(d, d, (EnergyConstraint(lo, hi),)) for d, lo, hi in slices),
    )


@st.composite
def fixed_offers(draw: st.DrawFn, offer_id: str, with_tec: bool = True) -> FlexOffer:
    """A valid offer with fixed-duration slices, EST within 12 intervals of 04:00, tf <= 8 intervals."""
    profile = []
    for _ in range(draw(st.integers(1, 3))):
        a, b = sorted((draw(_energy), draw(_energy)))
        d = draw(st.integers(1, 3))
        profile.append(ProfileSlice(d, d, (EnergyConstraint(a, b),)))
    low = sum(s.energy_constraints[0].lower for s in profile)
    high = sum(s.energy_constraints[0].upper for s in profile)
    tec = None
    if with_tec and draw(st.booleans()):
        # A TEC intersecting [low, high], possibly reaching beyond it.
        lo = draw(st.floats(low - 2, high, allow_nan=False))
        hi = draw(st.floats(max(lo, low), high + 2, allow_nan=False))
        tec = EnergyConstraint(lo, hi)
    est = ORIGIN + timedelta(hours=4) + draw(st.integers(0, 12)) * STEP
    tf = draw(st.integers(0, 8))
    # A baseline (what baseline alignment anchors on): mostly a possible start, sometimes none or off-window.
    default = None
    if draw(st.booleans()):
        start = est + draw(st.integers(-2, tf + 2)) * STEP
        default = Schedule(start, tuple(ScheduleSlice(s.min_duration, s.energy_constraints[0].upper) for s in profile))
    return FlexOffer(
        id=offer_id,
        state=FlexOfferState.OFFERED,
        offered_by_id="house",
        creation_time=ORIGIN,
        accept_before_time=ORIGIN + timedelta(hours=1),
        assignment_before_time=ORIGIN + timedelta(hours=2) + draw(st.integers(0, 4)) * STEP,
        start_after_time=est,
        start_before_time=est + tf * STEP,
        profile=tuple(profile),
        total_energy_constraint=tec,
        default_schedule=default,
    )


@st.composite
def offer_sets(draw: st.DrawFn, with_tec: bool = True) -> list[FlexOffer]:
    """Up to 8 offers with distinct ids."""
    n = draw(st.integers(1, 8))
    return [draw(fixed_offers(f"fo-{i}", with_tec)) for i in range(n)]


@st.composite
def aggregate_schedules(draw: st.DrawFn, offer: FlexOffer) -> Schedule:
    """A valid schedule of an aggregate (duration-1 slices): start in the window, amounts in bounds and TEC.

    Amounts are drawn as a common fraction per interval plus a nudge, then moved into the TEC if needed.
    """
    shift = draw(st.integers(0, (offer.start_before_time - offer.start_after_time) // STEP))
    bounds = [s.energy_constraints[0] for s in offer.profile]
    fractions = [draw(st.sampled_from([0.0, 0.25, 0.5, 1.0]) | st.floats(0, 1)) for _ in bounds]
    amounts = [b.lower + f * (b.upper - b.lower) for b, f in zip(bounds, fractions, strict=True)]
    tec = offer.total_energy_constraint
    if tec is not None:
        target = min(max(sum(amounts), tec.lower), tec.upper)
        # Move every interval by the same fraction of its remaining room towards the target total.
        gap = target - sum(amounts)
        room = [(b.upper - a) if gap > 0 else (a - b.lower) for a, b in zip(amounts, bounds, strict=True)]
        if sum(room) > 0:
            share = min(1.0, abs(gap) / sum(room))
            sign = 1.0 if gap > 0 else -1.0
            amounts = [a + sign * share * r for a, r in zip(amounts, room, strict=True)]
    amounts = [min(b.upper, max(b.lower, a)) for a, b in zip(amounts, bounds, strict=True)]
    return Schedule(offer.start_after_time + shift * STEP, tuple(ScheduleSlice(1, a) for a in amounts))
