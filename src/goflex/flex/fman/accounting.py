"""Execution tracking and accounting per prosumer (pure; issue 4 section 3, reference flexoffer.md section 6).

Everything is per member offer and per interval of ``numSecondsPerInterval`` [kWh, consumption-positive]:

* ``b_k`` the member's baseline (:func:`goflex.flex.fman.sale.member_baseline`, profile-relative: interval ``k``
  of the baseline belongs to interval ``k`` of the schedule, as FMAR compares a bid with its baseline);
* ``s_k`` its schedule (a slice's amount spread evenly over the slice's intervals);
* ``m_k`` the metered energy of the interval starting at ``schedule start + k`` intervals.

Figures:

* offered flexibility ``sum (h_k - l_k)`` over the member's per-interval bounds (its energy flexibility after its
  total-energy constraint);
* scheduled flexibility ``sum |s_k - b_k|``;
* delivered flexibility ``sum`` over metered intervals of the deviation from baseline **in the scheduled
  direction**, capped at the scheduled deviation: ``clip(m_k - b_k, 0, s_k - b_k)`` when ``s_k >= b_k``, else
  ``clip(b_k - m_k, 0, b_k - s_k)``; over-delivery earns nothing, the wrong direction counts 0;
* execution record: scheduled ``sum s_k``, delivered ``sum m_k`` and deviation ``sum |m_k - s_k|`` (the market's
  imbalance of delivery, reference 6), each over the metered intervals (scheduled: all);
* market payment share: until FMAR has settled the bid, FMAN's own estimate - the bid's pay-as-bid value split
  over its members pro rata to their scheduled flexibility; once FMAR has settled it, the market's payment
  (which pays delivered deviation only) split pro rata to the members' delivered flexibility
  (:func:`settled_shares`);
* remuneration: rule ``share`` pays ``rate x payment share x delivered / scheduled flexibility`` before the
  settlement and ``rate x settled payment share`` after it (the market's payment already counts delivery only);
  rule ``fixed`` pays ``rate [EUR/kWh] x delivered flexibility``;
* the bid's metering for FMAR (:func:`bid_metering`): per slot of the bid's schedule, the sum of its members'
  metered energy; a member interval without a report counts as the member's baseline (it delivered no
  flexibility there: FMAR sees no deviation from that member, and the imbalance against its schedule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from goflex.flex.aggregation import member_bounds
from goflex.flex.fman.sale import member_baseline
from goflex.flex.model import FlexOffer, Schedule


class RemunerationKind(StrEnum):
    """How prosumers are paid for delivered flexibility."""

    SHARE = "share"
    FIXED = "fixed"


@dataclass(frozen=True, slots=True)
class RemunerationRule:
    """The remuneration rule.

    Attributes:
        kind: ``share`` of the market payment, or ``fixed`` EUR per delivered kWh of flexibility.
        rate: the share in [0, 1] (``share``) or the price [EUR/kWh] (``fixed``), >= 0.
    """

    kind: RemunerationKind = RemunerationKind.SHARE
    rate: float = 0.8

    def __post_init__(self) -> None:
        if self.rate < 0 or (self.kind is RemunerationKind.SHARE and self.rate > 1):
            raise ValueError("remuneration rate must be >= 0 (and <= 1 for a share)")


def offered_flex_kwh(offer: FlexOffer) -> float:
    """Offered flexibility of a fixed-duration offer [kWh] (see the module docstring)."""
    return sum(b.upper - b.lower for b in member_bounds(offer))


def schedule_intervals(schedule: Schedule) -> list[float]:
    """A schedule's amount per interval [kWh]: each slice's amount spread evenly over its duration."""
    out: list[float] = []
    for item in schedule.slices:
        d = max(1, item.duration)
        out += [item.energy_amount / d] * d
    return out


def scheduled_flex_kwh(offer: FlexOffer, schedule: Schedule) -> float:
    """``sum |s_k - b_k|`` [kWh]."""
    return sum(abs(s - b) for s, b in zip(schedule_intervals(schedule), member_baseline(offer), strict=False))


def payment_shares(payment_eur: float, scheduled_flex: Mapping[str, float]) -> dict[str, float]:
    """Split a bid's market payment over its members pro rata to their scheduled flexibility [EUR]."""
    total = sum(scheduled_flex.values())
    if total <= 0:
        return dict.fromkeys(scheduled_flex, 0.0)
    return {member: payment_eur * flex / total for member, flex in scheduled_flex.items()}


@dataclass(frozen=True, slots=True)
class Execution:
    """Scheduled against metered energy of one member [kWh].

    Attributes:
        scheduled_kwh: ``sum s_k`` over the whole schedule.
        delivered_kwh: ``sum m_k`` over the metered intervals.
        deviation_kwh: ``sum |m_k - s_k|`` over the metered intervals.
        delivered_flex_kwh: see the module docstring.
        complete: every interval of the schedule is metered.
    """

    scheduled_kwh: float
    delivered_kwh: float
    deviation_kwh: float
    delivered_flex_kwh: float
    complete: bool


def interval_index(schedule: Schedule, start: datetime, seconds_per_interval: int) -> int | None:
    """Index of the schedule interval starting at ``start``, or ``None`` if it is off the grid or outside."""
    offset = (start - schedule.start_time).total_seconds()
    k, rest = divmod(offset, seconds_per_interval)
    length = sum(max(1, s.duration) for s in schedule.slices)
    if rest or not 0 <= k < length:
        return None
    return int(k)


def _delivered_flex(s: float, b: float, m: float) -> float:
    if s >= b:
        return min(max(m - b, 0.0), s - b)
    return min(max(b - m, 0.0), b - s)


def execution(offer: FlexOffer, schedule: Schedule, metered: Mapping[int, float]) -> Execution:
    """The execution record of a member from its metered energy per schedule interval index [kWh]."""
    planned = schedule_intervals(schedule)
    baseline = list(member_baseline(offer))
    baseline += [0.0] * (len(planned) - len(baseline))
    ks = sorted(k for k in metered if 0 <= k < len(planned))
    return Execution(
        scheduled_kwh=sum(planned),
        delivered_kwh=sum(metered[k] for k in ks),
        deviation_kwh=sum(abs(metered[k] - planned[k]) for k in ks),
        delivered_flex_kwh=sum(_delivered_flex(planned[k], baseline[k], metered[k]) for k in ks),
        complete=len(ks) == len(planned),
    )


def remuneration_eur(
    rule: RemunerationRule, *, payment_share_eur: float, scheduled_flex: float, delivered_flex: float
) -> float:
    """What the prosumer earns for one offer [EUR] (see the module docstring)."""
    if rule.kind is RemunerationKind.FIXED:
        return rule.rate * delivered_flex
    if scheduled_flex <= 0:
        return 0.0
    return rule.rate * payment_share_eur * min(1.0, delivered_flex / scheduled_flex)


@dataclass(frozen=True, slots=True)
class Account:
    """A prosumer's account [kWh, EUR]: sums over its offers."""

    prosumer_id: str
    offered_kwh: float
    scheduled_flex_kwh: float
    delivered_flex_kwh: float
    remuneration_eur: float


def account(prosumer_id: str, rows: Sequence[tuple[float, float, float, float]]) -> Account:
    """Sum per-offer ``(offered, scheduled flex, delivered flex, remuneration)`` into the prosumer's account."""
    return Account(
        prosumer_id,
        sum(r[0] for r in rows),
        sum(r[1] for r in rows),
        sum(r[2] for r in rows),
        sum(r[3] for r in rows),
    )


@dataclass(frozen=True, slots=True)
class MemberMetering:
    """One member of a scheduled bid, as its metering goes to FMAR.

    Attributes:
        offer: the member offer (its baseline fills intervals without a report).
        start: the start of the member's schedule (aware UTC).
        metered: schedule interval index -> metered energy [kWh]; empty when the member never reported.
    """

    offer: FlexOffer
    start: datetime
    metered: Mapping[int, float]


def bid_metering(
    schedule: Schedule, seconds_per_interval: int, members: Sequence[MemberMetering]
) -> list[tuple[datetime, float]]:
    """The bid's metered energy per interval of its schedule [kWh]: the members' sum (see the module docstring).

    Args:
        schedule: the bid's fixed schedule.
        seconds_per_interval: the interval length [s] (the market's 900).
        members: every member of the bid, with what it metered.

    Returns:
        ``(interval start, energy)`` for every interval of the schedule, in time order.
    """
    step = timedelta(seconds=seconds_per_interval)
    length = sum(max(1, s.duration) for s in schedule.slices)
    totals = {schedule.start_time + k * step: 0.0 for k in range(length)}
    for m in members:
        for k, base in enumerate(member_baseline(m.offer)):
            t = m.start + k * step
            if t in totals:
                totals[t] += m.metered.get(k, base)
    return sorted(totals.items())


def settled_shares(payment_eur: float, delivered_flex: Mapping[str, float]) -> dict[str, float]:
    """Split the market's settled payment of a bid over its members pro rata to their delivered flexibility [EUR]."""
    return payment_shares(payment_eur, delivered_flex)


def settled_remuneration_eur(rule: RemunerationRule, *, settled_share_eur: float, delivered_flex: float) -> float:
    """What the prosumer earns for one offer once FMAR has settled its bid [EUR] (see the module docstring)."""
    if rule.kind is RemunerationKind.FIXED:
        return rule.rate * delivered_flex
    return rule.rate * settled_share_eur
