"""Market bids from aggregates (pure; reference flexoffer.md sections 3 and 6, trading contract "FMAR").

A bid is a FlexOffer sent to FMAR as a sell order. For one aggregate (or a single offer as an aggregate of one):

* **profile**: one slice of duration 1 per interval of the aggregate, as in the aggregate itself;
* **slice bounds**: the minimum- and maximum-energy optimisation over the trading window: for each interval
  ``k``, ``min x_k`` and ``max x_k`` subject to every interval's bounds and the total-energy constraint (TEC),
  which couples the intervals. Solved as LPs with HiGHS (:func:`energy_range`), as the GOFLEX aggregator did
  (reference 6: "bounds from its portfolio's minimum- and maximum-energy optimisations"). Without a TEC the
  intervals are independent and the bounds are the aggregate's own. The members' own TECs are already in the
  aggregate's bounds (their TEC-tightened bounds or inner boxes, :mod:`goflex.flex.offer_table`);
* **baseline** (``defaultSchedule``, required by FMAR): the sum of the members' baselines, each placed at its
  offset (start alignment, like the bounds). A member's baseline is
  :func:`goflex.flex.fman.sale.member_baseline`: its ``defaultSchedule`` read profile-relative, or its lower
  bounds (its least consumption) without one;
* **tariffs** (``tariffConstraint``, EUR/kWh): ``maxTariff`` = the configured cost of consuming one kWh more
  than baseline, ``minTariff`` = minus the cost of consuming one kWh less (reference 6: a Swiss bid asked
  -0.06 / +0.06 EUR/kWh); where a member sells in a direction and asks more in its own ``tariffConstraint``, the
  bid asks that (``max`` of the ``maxTariff``s, ``min`` of the ``minTariff``s), so no member is sold below its
  price. An interval where no member has a tariff carries none: FMAR sells nothing of it. The members come in
  as they are for sale (:mod:`goflex.flex.fman.sale`: unpriced slices pinned to their baseline), so the bounds
  hold no energy a member did not offer;
* **deadlines**: ``assignmentBeforeTime`` = the aggregate's (the earliest member's) minus a delivery margin, so
  that FMAR fixes the schedule early enough for FMAN to disaggregate it and for the agents to pull it with their
  heartbeat before their own deadline.

Energies are consumption-positive [kWh] on both sides, as in the trading contract: no sign conversion here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import highspy
import numpy as np

from goflex.flex.aggregation import Aggregate
from goflex.flex.fman.sale import member_baseline, slice_directions
from goflex.flex.model import (
    EnergyConstraint,
    FlexOffer,
    FlexOfferState,
    ProfileSlice,
    Schedule,
    ScheduleSlice,
    TariffConstraint,
)


@dataclass(frozen=True, slots=True)
class BidPricing:
    """How FMAN prices its bids.

    Attributes:
        up_cost_eur_per_kwh: asked for each kWh consumed above baseline [EUR/kWh], >= 0.
        down_cost_eur_per_kwh: asked for each kWh consumed below baseline [EUR/kWh], >= 0.
        delivery_margin_s: the bid's assignment deadline lies this long before the earliest member's [s], >= 0.
    """

    up_cost_eur_per_kwh: float = 0.06
    down_cost_eur_per_kwh: float = 0.06
    delivery_margin_s: float = 300.0

    def __post_init__(self) -> None:
        if self.up_cost_eur_per_kwh < 0 or self.down_cost_eur_per_kwh < 0 or self.delivery_margin_s < 0:
            raise ValueError("bid costs and the delivery margin must be >= 0")


def energy_range(bounds: Sequence[EnergyConstraint], total: EnergyConstraint | None) -> list[EnergyConstraint]:
    """Per-interval minimum and maximum energy [kWh] over every assignment within ``bounds`` and ``total``.

    Args:
        bounds: per interval, ``[lower, upper]`` [kWh].
        total: bounds on the sum over all intervals [kWh], or ``None``.

    Returns:
        Per interval, ``[min x_k, max x_k]``; each LP optimum is clamped into the interval's own bounds (HiGHS
        works to a feasibility tolerance of 1e-7 kWh).

    Raises:
        ValueError: when ``total`` cannot be met within ``bounds`` (an invalid offer).
    """
    if total is None:
        return list(bounds)
    n = len(bounds)
    h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no stubs
    h.setOptionValue("output_flag", False)
    empty_i, empty_f = np.array([], dtype=np.int32), np.array([], dtype=np.float64)
    for b in bounds:
        h.addCol(0.0, b.lower, b.upper, 0, empty_i, empty_f)
    h.addRow(total.lower, total.upper, n, np.arange(n, dtype=np.int32), np.ones(n))
    out = []
    for k, b in enumerate(bounds):
        extremes = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            h.changeColsCost(n, np.arange(n, dtype=np.int32), np.eye(1, n, k).ravel())
            h.changeObjectiveSense(sense)
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                raise ValueError(f"total-energy constraint [{total.lower}, {total.upper}] kWh is infeasible")
            extremes.append(min(b.upper, max(b.lower, float(h.getSolution().col_value[k]))))
        out.append(EnergyConstraint(extremes[0], max(extremes)))
    return out


def aggregate_baseline(agg: Aggregate) -> list[float]:
    """The aggregate's baseline per interval [kWh]: the members' baselines summed at their offsets."""
    out = [0.0] * len(agg.offer.profile)
    for member, offset in zip(agg.members, agg.offsets, strict=True):
        for k, value in enumerate(member_baseline(member), start=offset):
            out[k] += value
    return out


def _member_tariffs(agg: Aggregate, pricing: BidPricing) -> list[TariffConstraint | None]:
    """Per interval: FMAN's costs, raised to the highest member price in each direction a member sells there.

    ``None`` where no member offers anything for sale (:mod:`goflex.flex.fman.sale`): FMAR then sells nothing of
    that slice in either direction.
    """
    n = len(agg.offer.profile)
    up = [pricing.up_cost_eur_per_kwh] * n
    down = [-pricing.down_cost_eur_per_kwh] * n
    priced = [False] * n
    for member, offset in zip(agg.members, agg.offsets, strict=True):
        k = offset
        for s, sale in zip(member.profile, slice_directions(member), strict=True):
            tc = s.tariff_constraint
            for j in range(k, k + s.min_duration):
                if tc is None:
                    continue
                priced[j] = True
                if sale.up:
                    up[j] = max(up[j], tc.max_tariff)
                if sale.down:
                    down[j] = min(down[j], tc.min_tariff)
            k += s.min_duration
    return [TariffConstraint(lo, hi) if p else None for lo, hi, p in zip(down, up, priced, strict=True)]


def build_bid(
    agg: Aggregate, *, bid_id: str, aggregator_id: str, pricing: BidPricing, location_id: str | None = None
) -> FlexOffer:
    """The bid FlexOffer for one aggregate (see the module docstring).

    Args:
        agg: an aggregate of fixed-duration members (a single offer is an aggregate of one).
        bid_id: the bid's FlexOffer id at FMAR (stable while the bid is updated).
        aggregator_id: ``offeredById`` of the bid (FMAN's participant id at FMAR).
        pricing: costs and delivery margin.
        location_id: the grid location all members share.

    Raises:
        ValueError: the aggregate's TEC cannot be met (an invalid member slipped through).
    """
    offer = agg.offer
    bounds = [s.energy_constraints[0] for s in offer.profile]
    ranges = energy_range(bounds, offer.total_energy_constraint)
    tariffs = _member_tariffs(agg, pricing)
    deadline = offer.assignment_before_time - timedelta(seconds=pricing.delivery_margin_s)
    baseline = aggregate_baseline(agg)
    return FlexOffer(
        id=bid_id,
        state=FlexOfferState.OFFERED,
        offered_by_id=aggregator_id,
        creation_time=min(offer.creation_time, deadline),
        accept_before_time=min(offer.accept_before_time, deadline),
        assignment_before_time=deadline,
        start_after_time=offer.start_after_time,
        start_before_time=offer.start_before_time,
        profile=tuple(ProfileSlice(1, 1, (r,), t) for r, t in zip(ranges, tariffs, strict=True)),
        num_seconds_per_interval=offer.num_seconds_per_interval,
        total_energy_constraint=offer.total_energy_constraint,
        default_schedule=Schedule(offer.start_after_time, tuple(ScheduleSlice(1, b) for b in baseline)),
        location_id=location_id,
    )


def bid_deadline(agg: Aggregate, pricing: BidPricing) -> datetime:
    """When FMAR must have fixed the aggregate's schedule: its assignment deadline minus the delivery margin."""
    return agg.offer.assignment_before_time - timedelta(seconds=pricing.delivery_margin_s)


def market_payment_eur(bid: FlexOffer, schedule: Schedule) -> float:
    """Pay-as-bid value of a bid's schedule [EUR] (reference 6: ``gain = sum_k price_k (sched_k - base_k)``).

    Above baseline the price is the slice's ``maxTariff``, below it ``-minTariff`` per kWh of reduction, so both
    directions earn a positive amount for asking prices >= 0. Slices are compared profile-relative (slice ``k`` of
    the schedule against slice ``k`` of ``defaultSchedule``), as FMAR compares them.
    """
    if bid.default_schedule is None:
        return 0.0
    total = 0.0
    for s, item, base in zip(bid.profile, schedule.slices, bid.default_schedule.slices, strict=False):
        tc = s.tariff_constraint
        if tc is None:
            continue
        deviation = item.energy_amount - base.energy_amount
        total += tc.max_tariff * deviation if deviation > 0 else tc.min_tariff * deviation
    return total
