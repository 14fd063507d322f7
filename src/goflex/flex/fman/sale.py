"""What a member offers for sale, and so what FMAN may put into its bids (pure; trading contract "FMAR").

A slice's ``tariffConstraint`` is its price list: ``maxTariff`` for consuming more than baseline ("up"),
``-minTariff`` for consuming less ("down"). The trading contract reads a slice **without** one as not offered in
either direction (price infinite). The FOA's interruption offers use exactly this: the interrupted slices carry a
price, the rebound slices after them do not - they are the consequence of the interruption, not for sale
(:mod:`goflex.flex.foa.tcl`).

FMAN sums its members into one bid per aggregate, so a bid slice mixes members that sell with members that do
not. Pricing the whole sum would sell the unpriced members' headroom. The representation chosen keeps the
aggregate machinery unchanged and lets disaggregation respect it:

* **pinned slices**: every slice without a tariff constraint is pinned to its reference, the baseline clamped
  into the slice's bounds (the market's reference, :mod:`goflex.flex.fmar.terms`): bounds ``[r, r]``. The member
  enters the portfolio in this form (:func:`for_sale`), so the aggregate's bounds, FMAN's bid bounds and the
  disaggregated member schedules never move an unpriced slice. A schedule of the pinned member is a valid
  schedule of the original offer (its bounds are a subset);
* **directions**: a priced slice can still be sold only where its own bounds let it move from its reference
  (an interruption slice with ``upper == baseline`` sells "down" only, whatever its ``maxTariff`` says); its
  prices count for the bid only in those directions (:func:`slice_directions`);
* **infeasible pins**: when the total-energy constraint cannot be met with the unpriced slices at their
  references, the member would have to move an unpriced slice to be scheduled at all; FMAN refuses such an offer
  (``unsupported_offer``), as it refuses an offer with no priced slice at all (``not_for_sale``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from goflex.flex.aggregation import member_bounds
from goflex.flex.model import EnergyConstraint, FlexOffer, ProfileSlice
from goflex.flex.validation import validate_offer

MOVE_EPS_KWH = 1e-9
"""Headroom below this [kWh] does not count as a direction the slice can move in."""


@dataclass(frozen=True, slots=True)
class SliceSale:
    """What one slice of a member offers: the directions it can be sold in [bool] from its reference [kWh]."""

    reference_kwh: float
    up: bool
    down: bool


def member_baseline(offer: FlexOffer) -> tuple[float, ...]:
    """A fixed-duration member's baseline per profile interval [kWh].

    Its ``defaultSchedule`` read profile-relative: slice ``i``'s amount spread evenly over its duration, from the
    member's first interval; without one, its lower bounds (its least consumption); a longer baseline is cut, a
    shorter one padded with lower bounds.
    """
    lows = [b.lower for b in member_bounds(offer)]
    if offer.default_schedule is None:
        return tuple(lows)
    values: list[float] = []
    for item in offer.default_schedule.slices:
        d = max(1, item.duration)
        values += [item.energy_amount / d] * d
    values = values[: len(lows)]
    return tuple(values + lows[len(values) :])


def slice_references(offer: FlexOffer) -> list[float]:
    """Per profile slice, the baseline amount clamped into the slice's bounds [kWh] (fixed-duration offers).

    The baseline is :func:`member_baseline` (the ``defaultSchedule`` read profile-relative,
    lower bounds without one) summed over the slice's intervals.
    """
    per_interval = member_baseline(offer)
    out, k = [], 0
    for s in offer.profile:
        base = sum(per_interval[k : k + s.min_duration])
        bounds = s.energy_constraints[0]
        out.append(min(bounds.upper, max(bounds.lower, base)))
        k += s.min_duration
    return out


def slice_directions(offer: FlexOffer) -> list[SliceSale]:
    """Per profile slice: its reference and whether it is for sale up / down (priced and free to move there)."""
    out = []
    for s, r in zip(offer.profile, slice_references(offer), strict=True):
        bounds, priced = s.energy_constraints[0], s.tariff_constraint is not None
        out.append(SliceSale(r, priced and bounds.upper > r + MOVE_EPS_KWH, priced and bounds.lower < r - MOVE_EPS_KWH))
    return out


def for_sale(offer: FlexOffer) -> FlexOffer:
    """The member as FMAN may sell it: every slice without a tariff constraint pinned to its reference.

    Args:
        offer: a fixed-duration offer (one energy constraint per slice).

    Returns:
        The same offer (id, deadlines, default schedule) with pinned bounds ``[r, r]`` on its unpriced slices.
        Check it with :func:`goflex.flex.validation.validate_offer`: a total-energy constraint the pins cannot
        meet shows there.
    """
    profile = tuple(
        s
        if s.tariff_constraint is not None
        else ProfileSlice(s.min_duration, s.max_duration, (EnergyConstraint(r, r),), None)
        for s, r in zip(offer.profile, slice_references(offer), strict=True)
    )
    return replace(offer, profile=profile)


def sale_refusal(offer: FlexOffer) -> tuple[str, str] | None:
    """Why FMAN cannot sell a valid fixed-duration offer: ``(reason, message naming the field)``, or ``None``.

    Reasons: ``not_for_sale`` (no slice has a tariff constraint), ``unsupported_offer`` (the total-energy
    constraint cannot be met with the unpriced slices pinned to their references).
    """
    if all(s.tariff_constraint is None for s in offer.profile):
        return "not_for_sale", "flexOfferProfileConstraints: no slice has a tariffConstraint; nothing is for sale"
    if validate_offer(for_sale(offer)):
        rule = "cannot be met with every slice without tariffConstraint at its baseline (those are not for sale)"
        return "unsupported_offer", f"totalEnergyConstraint: {rule}"
    return None
