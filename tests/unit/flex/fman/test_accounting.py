"""Execution and accounting figures, checked by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest

from goflex.flex import FlexOffer, Schedule, ScheduleSlice
from goflex.flex.fman.accounting import (
    MemberMetering,
    RemunerationKind,
    RemunerationRule,
    account,
    bid_metering,
    execution,
    interval_index,
    offered_flex_kwh,
    payment_shares,
    remuneration_eur,
    scheduled_flex_kwh,
    settled_remuneration_eur,
    settled_shares,
)
from tests.unit.flex.flex_strategies import STEP, fixed_offer


def _member() -> FlexOffer:
    # Two slices of 2 intervals, [0, 4] kWh each; baseline 2 kWh per slice = 1 kWh per interval.
    offer = fixed_offer("m", 0, 4, (2, 0.0, 4.0), (2, 0.0, 4.0))
    base = Schedule(offer.start_after_time, (ScheduleSlice(2, 2.0), ScheduleSlice(2, 2.0)))
    return replace(offer, default_schedule=base)


def test_offered_and_scheduled_flexibility_by_hand() -> None:
    member = _member()
    assert offered_flex_kwh(member) == pytest.approx(8.0)  # 4 intervals x 2 kWh of range
    schedule = Schedule(member.start_after_time + STEP, (ScheduleSlice(2, 4.0), ScheduleSlice(2, 0.0)))
    # Per interval: scheduled 2, 2, 0, 0 against baseline 1, 1, 1, 1 -> |1|+|1|+|-1|+|-1| = 4 kWh.
    assert scheduled_flex_kwh(member, schedule) == pytest.approx(4.0)


def test_execution_and_delivered_flexibility_by_hand() -> None:
    member = _member()
    schedule = Schedule(member.start_after_time, (ScheduleSlice(2, 4.0), ScheduleSlice(2, 0.0)))
    # Metered: 2.5 (over-delivery of up: capped at +1), 1.5 (half), 1.2 (down by -0.2 -> wrong way: 0), 0.0 (full).
    done = execution(member, schedule, {0: 2.5, 1: 1.5, 2: 1.2, 3: 0.0})
    assert done.scheduled_kwh == pytest.approx(4.0)
    assert done.delivered_kwh == pytest.approx(5.2)
    assert done.deviation_kwh == pytest.approx(0.5 + 0.5 + 1.2 + 0.0)
    assert done.delivered_flex_kwh == pytest.approx(1.0 + 0.5 + 0.0 + 1.0)
    assert done.complete
    partial = execution(member, schedule, {0: 2.0})
    assert (partial.delivered_kwh, partial.deviation_kwh, partial.complete) == (2.0, 0.0, False)


def test_interval_index_accepts_only_the_schedules_grid() -> None:
    member = _member()
    schedule = Schedule(member.start_after_time, (ScheduleSlice(2, 4.0), ScheduleSlice(2, 0.0)))
    assert interval_index(schedule, member.start_after_time + 3 * STEP, 900) == 3
    assert interval_index(schedule, member.start_after_time + 4 * STEP, 900) is None
    assert interval_index(schedule, member.start_after_time - STEP, 900) is None
    assert interval_index(schedule, member.start_after_time + STEP / 2, 900) is None


def test_payment_shares_and_both_remuneration_rules_by_hand() -> None:
    shares = payment_shares(1.0, {"a": 3.0, "b": 1.0})
    assert shares == {"a": pytest.approx(0.75), "b": pytest.approx(0.25)}
    assert payment_shares(1.0, {"a": 0.0}) == {"a": 0.0}
    share = RemunerationRule(RemunerationKind.SHARE, 0.8)
    # 80 % of a 0.75 EUR share, delivered 2 of 3 scheduled kWh: 0.8 * 0.75 * 2/3 = 0.4 EUR.
    assert remuneration_eur(share, payment_share_eur=0.75, scheduled_flex=3.0, delivered_flex=2.0) == pytest.approx(0.4)
    fixed = RemunerationRule(RemunerationKind.FIXED, 0.1)
    assert remuneration_eur(fixed, payment_share_eur=0.75, scheduled_flex=3.0, delivered_flex=2.0) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="share"):
        RemunerationRule(RemunerationKind.SHARE, 1.5)


def test_account_sums_the_offers() -> None:
    got = account("p", [(8.0, 4.0, 2.5, 0.4), (2.0, 0.0, 0.0, 0.0)])
    assert (got.offered_kwh, got.scheduled_flex_kwh, got.delivered_flex_kwh, got.remuneration_eur) == (
        10.0,
        4.0,
        2.5,
        0.4,
    )


def test_bid_metering_sums_members_and_fills_what_is_missing_with_their_baseline() -> None:
    a, b = _member(), replace(_member(), id="b")
    start = a.start_after_time
    bid_schedule = Schedule(start, tuple(ScheduleSlice(1, 0.0) for _ in range(5)))  # 5 intervals
    got = bid_metering(
        bid_schedule,
        900,
        [
            MemberMetering(a, start, {0: 0.0, 1: 0.25, 2: 1.5}),  # interval 3 not reported: its baseline 1.0
            MemberMetering(b, start + STEP, {}),  # never reported: baseline 1.0 per interval, one interval later
        ],
    )
    assert got == [(start + k * STEP, pytest.approx(e)) for k, e in enumerate([0.0, 1.25, 2.5, 2.0, 1.0])]


def test_settled_payment_goes_to_the_members_who_delivered() -> None:
    shares = settled_shares(0.3, {"a": 2.0, "b": 0.0, "c": 1.0})
    assert shares == {"a": pytest.approx(0.2), "b": 0.0, "c": pytest.approx(0.1)}
    share = RemunerationRule(RemunerationKind.SHARE, 0.8)
    assert settled_remuneration_eur(share, settled_share_eur=0.2, delivered_flex=2.0) == pytest.approx(0.16)
    fixed = RemunerationRule(RemunerationKind.FIXED, 0.05)
    assert settled_remuneration_eur(fixed, settled_share_eur=0.2, delivered_flex=2.0) == pytest.approx(0.1)
