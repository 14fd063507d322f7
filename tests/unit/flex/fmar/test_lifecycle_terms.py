"""Order lifecycle (illegal steps are errors), bid and buy terms, and the gate-closure rule."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from goflex.flex.fmar.errors import IllegalTransition, OrderRefused
from goflex.flex.fmar.lifecycle import OrderStatus, Side, transition
from goflex.flex.fmar.terms import Direction, bid_terms, buy_terms, first_open_slot, slot_of
from goflex.flex.model import ProfileSlice
from tests.unit.flex.fmar.offers import SLOT, T0, bid_offer


def test_the_lifecycle_of_a_bid_to_settlement() -> None:
    status = transition(None, OrderStatus.ACCEPTED, Side.SELL)
    for wanted in (
        OrderStatus.UPDATED,
        OrderStatus.MATCHED,
        OrderStatus.MATCHED,
        OrderStatus.SCHEDULED,
        OrderStatus.EXECUTED,
        OrderStatus.SETTLED,
    ):
        status = transition(status, wanted, Side.SELL)
    assert status is OrderStatus.SETTLED


@pytest.mark.parametrize(
    ("current", "wanted", "side", "code"),
    [
        (OrderStatus.MATCHED, OrderStatus.REVOKED, Side.SELL, "not_revocable"),
        (OrderStatus.SCHEDULED, OrderStatus.REVOKED, Side.SELL, "not_revocable"),
        (OrderStatus.MATCHED, OrderStatus.UPDATED, Side.SELL, "not_updatable"),
        (OrderStatus.ACCEPTED, OrderStatus.UPDATED, Side.BUY, "not_updatable"),
        (OrderStatus.ACCEPTED, OrderStatus.EXECUTED, Side.SELL, "not_scheduled"),
        (OrderStatus.REJECTED, OrderStatus.MATCHED, Side.SELL, "illegal_transition"),
        (OrderStatus.MATCHED, OrderStatus.SCHEDULED, Side.BUY, "illegal_transition"),
    ],
)
def test_illegal_steps_are_errors(current: OrderStatus, wanted: OrderStatus, side: Side, code: str) -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition(current, wanted, side)
    assert caught.value.code == code


def test_bid_terms_read_baseline_reference_and_prices() -> None:
    offer = bid_offer("b", [(2, 0.0, 3.0, 0.06, 0.04), (1, 1.0, 2.0, None, None)], [4.0, 1.5], tf=2)
    terms = bid_terms(offer, max_abs_price=1.0)
    first, second = terms.slices
    assert (first.offset, first.duration, first.reference, first.price_down, first.price_up) == (0, 2, 3.0, 0.06, 0.04)
    assert second.offset == 2
    assert second.price(Direction.UP) is None
    assert (terms.est_slot, terms.lst_slot, terms.length) == (slot_of(T0), slot_of(T0) + 2, 3)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"default_schedule": None}, "flexOffer.defaultSchedule"),
        ({"num_seconds_per_interval": 300}, "flexOffer.numSecondsPerInterval"),
        (
            {"start_after_time": T0 + timedelta(minutes=5), "start_before_time": T0 + timedelta(minutes=5)},
            "flexOffer.startAfterTime",
        ),
    ],
)
def test_bids_the_market_cannot_trade_are_refused(change: dict[str, object], field: str) -> None:
    offer = dataclasses.replace(bid_offer("b", [(1, 0.0, 1.0, 0.1, 0.1)], [1.0]), **change)  # type: ignore[arg-type]
    with pytest.raises(OrderRefused) as caught:
        bid_terms(offer, max_abs_price=1.0)
    assert (caught.value.reason, caught.value.field) == ("invalid_offer", field)


def test_variable_durations_and_out_of_range_prices_are_refused() -> None:
    offer = bid_offer("b", [(1, 0.0, 1.0, 0.1, 0.1)], [1.0])
    variable = dataclasses.replace(offer, profile=(dataclasses.replace(offer.profile[0], max_duration=2),))
    with pytest.raises(OrderRefused, match="maxDuration"):
        bid_terms(variable, max_abs_price=1.0)
    with pytest.raises(OrderRefused) as caught:
        bid_terms(bid_offer("b", [(1, 0.0, 1.0, 0.1, 5.0)], [1.0]), max_abs_price=1.0)
    assert caught.value.reason == "price_out_of_range"
    assert isinstance(offer.profile[0], ProfileSlice)


def test_buy_terms_name_the_bad_field() -> None:
    ok = buy_terms("down", None, 0.2, [(T0, 5.0), (T0 + SLOT, 1.0)], True, max_abs_price=1.0)
    assert ok.slots == {slot_of(T0): 5.0, slot_of(T0) + 1: 1.0}
    cases = [
        (("sideways", None, 0.2, [(T0, 1.0)]), "direction"),
        (("up", None, 0.2, []), "slots"),
        (("up", None, 0.2, [(T0 + timedelta(minutes=1), 1.0)]), "slots[0].start"),
        (("up", None, 0.2, [(T0, 0.0)]), "slots[0].energyKwh"),
        (("up", None, 0.2, [(T0, 1.0), (T0, 2.0)]), "slots[1].start"),
        (("up", None, 9.0, [(T0, 1.0)]), "maxPriceEurPerKwh"),
    ]
    for (direction, location, price, slots), field in cases:
        with pytest.raises(OrderRefused) as caught:
            buy_terms(direction, location, price, slots, True, max_abs_price=1.0)
        assert caught.value.field == field


def test_gate_closure_opens_the_first_slot_starting_after_now_plus_the_gate() -> None:
    assert first_open_slot(T0 - timedelta(minutes=15), 900) == slot_of(T0)
    assert first_open_slot(T0 - timedelta(minutes=14), 900) == slot_of(T0) + 1
    assert first_open_slot(T0, 0) == slot_of(T0)
