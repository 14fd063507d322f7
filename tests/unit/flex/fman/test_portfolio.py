"""The portfolio (per-location incremental aggregation) and the plan of a bid round."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.flex import AggregationParameters, FlexOffer
from goflex.flex.aggregation import TecPolicy
from goflex.flex.fman.portfolio import LiveBid, Portfolio, plan_round
from tests.unit.flex.flex_strategies import ORIGIN, fixed_offer

PARAMS = AggregationParameters(origin=ORIGIN, est_tolerance=4, max_members=10)


def _offer(offer_id: str, est: int = 0, location: str | None = None) -> FlexOffer:
    return replace(fixed_offer(offer_id, est, 2, (2, 0.0, 2.0)), location_id=location)


def test_offers_group_per_location_and_groups_change_incrementally() -> None:
    p = Portfolio(PARAMS)
    for offer in (_offer("a", location="x"), _offer("b", location="x"), _offer("c", location="y")):
        p.add(offer)
    groups = p.groups()
    by_members = {g.aggregate.member_ids: g for g in groups.values()}
    assert set(by_members) == {("a", "b"), ("c",)}
    assert by_members["a", "b"].location_id == "x"
    kept = by_members["c",].aggregate
    p.remove("a")
    again = {g.aggregate.member_ids: g for g in p.groups().values()}
    assert set(again) == {("b",), ("c",)}
    assert again["c",].aggregate is kept  # the other location's aggregate was not rebuilt
    assert "a" not in p
    assert len(p) == 2


def test_the_sum_tec_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="disaggregates"):
        Portfolio(replace(PARAMS, tec_policy=TecPolicy.SUM))


def test_unchanged_bids_stay_and_new_groups_are_submitted() -> None:
    p = Portfolio(PARAMS)
    p.add(_offer("a"))
    (group,) = p.groups().values()
    plan = plan_round(p.groups(), [])
    assert plan.submits == (group,)
    plan = plan_round(p.groups(), [LiveBid("bid-1", group.aggregate)])
    assert (plan.unchanged, plan.submits, plan.updates, plan.revokes) == (("bid-1",), (), (), ())


def test_a_grown_group_updates_its_bid_and_an_emptied_one_is_revoked() -> None:
    p = Portfolio(PARAMS)
    p.add(_offer("a"))
    (old,) = p.groups().values()
    p.add(_offer("b"))
    (grown,) = p.groups().values()
    plan = plan_round(p.groups(), [LiveBid("bid-1", old.aggregate)])
    assert plan.updates == (("bid-1", grown),)
    assert plan.submits == ()
    p.remove("a")
    p.remove("b")
    assert plan_round(p.groups(), [LiveBid("bid-1", grown.aggregate)]).revokes == ("bid-1",)


def test_an_update_never_takes_a_member_of_another_live_bid() -> None:
    # a and b were bid separately (different EST cells then); now both sit in one group.
    p = Portfolio(PARAMS)
    p.add(_offer("a"))
    (ga,) = p.groups().values()
    p.remove("a")
    p.add(_offer("b"))
    (gb,) = p.groups().values()
    p.add(_offer("a"))
    p.add(_offer("c"))
    plan = plan_round(p.groups(), [LiveBid("bid-a", ga.aggregate), LiveBid("bid-b", gb.aggregate)])
    # The group {a, b, c} holds members of both live bids: neither may take it over (the other may be matched).
    assert plan.updates == ()
    assert set(plan.revokes) == {"bid-a", "bid-b"}
    assert [g.aggregate.member_ids for g in plan.submits] == [("a", "b", "c")]


IDS = [f"f{i}" for i in range(8)]


@settings(max_examples=80, deadline=None)
@given(
    before=st.dictionaries(st.sampled_from(IDS), st.integers(0, 9), max_size=8),
    after=st.dictionaries(st.sampled_from(IDS), st.integers(0, 9), max_size=8),
    live_mask=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_a_round_covers_every_group_once_and_never_sells_a_member_twice(
    before: dict[str, int], after: dict[str, int], live_mask: list[bool]
) -> None:
    params = replace(PARAMS, max_members=3)
    old = Portfolio(params)
    for offer_id, est in before.items():
        old.add(_offer(offer_id, est))
    live = [LiveBid(f"bid-{g.id}", g.aggregate) for g, on in zip(old.groups().values(), live_mask, strict=False) if on]
    new = Portfolio(params)
    for offer_id, est in after.items():
        new.add(_offer(offer_id, est))
    groups = new.groups()
    plan = plan_round(groups, live)
    live_ids = {b.bid_id: b for b in live}
    unchanged_groups = [live_ids[b].aggregate.offer.id for b in plan.unchanged]
    covered = unchanged_groups + [g.id for _, g in plan.updates] + [g.id for g in plan.submits]
    assert sorted(covered) == sorted(groups)
    assert sorted([*plan.unchanged, *plan.revokes, *(b for b, _ in plan.updates)]) == sorted(live_ids)
    owner = {m: b.bid_id for b in live for m in b.aggregate.member_ids}
    for bid_id, group in plan.updates:
        assert all(owner.get(m, bid_id) == bid_id for m in group.aggregate.member_ids)
