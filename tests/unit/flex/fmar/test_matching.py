"""Matching by hand on small cases: partial fills, price limit, pay-as-bid, time flexibility, TEC, all-or-nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from goflex.flex.fmar.book import BidEntry, BuyEntry, ContractDraft, OrderBook
from goflex.flex.fmar.terms import BuyTerms, Direction, bid_terms, slot_of, slot_start
from goflex.flex.model import FlexOffer
from goflex.flex.validation import validate_schedule
from tests.unit.flex.fmar.offers import NOW, T0, bid_offer

S0 = slot_of(T0)
OPEN = S0 - 8  # gate closure far behind the traded slots


def book_with(*offers: FlexOffer) -> OrderBook:
    book = OrderBook()
    for offer in offers:
        book.bids[offer.id] = BidEntry(
            offer.id, "seller", bid_terms(offer, max_abs_price=10), None, book.next_priority()
        )
    return book


def buy(
    book: OrderBook,
    wanted: dict[int, float],
    *,
    direction: Direction = Direction.DOWN,
    price: float = 0.2,
    partial: bool = True,
) -> list[ContractDraft]:
    order_id = f"buy{len(book.buys)}"
    terms = BuyTerms(direction, None, price, wanted, partial)
    book.buys[order_id] = BuyEntry(order_id, "dso", terms, book.next_priority(), dict(wanted))
    return book.match_buy(order_id, first_slot=OPEN, now=NOW)


def summary(drafts: list[ContractDraft]) -> list[tuple[str, int, float, float]]:
    return sorted((d.sell_order_id, d.slot - S0, round(d.energy_kwh, 9), d.price) for d in drafts)


def test_a_partial_match_leaves_the_rest_of_the_buy_order_open() -> None:
    book = book_with(bid_offer("a", [(1, 0.0, 2.0, 0.05, 0.05)], [2.0]))
    assert summary(buy(book, {S0: 5.0})) == [("a", 0, 2.0, 0.05)]
    assert book.buys["buy0"].remaining == {S0: pytest.approx(3.0)}
    assert book.exhausted("a")


def test_no_match_above_the_buyers_price_nor_in_a_direction_without_tariff() -> None:
    book = book_with(
        bid_offer("a", [(1, 0.0, 2.0, 0.30, 0.01)], [1.0]), bid_offer("b", [(1, 0.0, 2.0, None, None)], [1.0])
    )
    assert buy(book, {S0: 1.0}, price=0.2) == []
    assert summary(buy(book, {S0: 1.0}, direction=Direction.UP, price=0.2)) == [("a", 0, 1.0, 0.01)]


def test_pay_as_bid_takes_the_cheapest_bid_first_at_each_bids_own_price() -> None:
    book = book_with(
        bid_offer("dear", [(1, 0.0, 2.0, 0.08, 0.0)], [2.0]), bid_offer("cheap", [(1, 0.0, 2.0, 0.05, 0.0)], [2.0])
    )
    assert summary(buy(book, {S0: 3.0}, price=0.1)) == [("cheap", 0, 2.0, 0.05), ("dear", 0, 1.0, 0.08)]


def test_time_flexibility_is_used_where_greedy_would_lose_energy() -> None:
    # "flex" may start at slot 0 or 1 and is cheaper; "fixed" only serves slot 0. Putting the cheap bid at its
    # first start would leave slot 1 empty; the MILP moves it to slot 1 and matches 4 kWh instead of 2.
    book = book_with(
        bid_offer("flex", [(1, 0.0, 2.0, 0.03, 0.0)], [2.0], tf=1),
        bid_offer("fixed", [(1, 0.0, 2.0, 0.05, 0.0)], [2.0]),
    )
    assert summary(buy(book, {S0: 2.0, S0 + 1: 2.0})) == [("fixed", 0, 2.0, 0.05), ("flex", 1, 2.0, 0.03)]
    assert book.bids["flex"].start_slot == S0 + 1
    assert book.schedule("flex").start_time == T0 + timedelta(minutes=15)


def test_the_total_energy_constraint_limits_what_is_sold() -> None:
    offer = bid_offer("tec", [(1, 0.0, 2.0, 0.05, 0.0), (1, 0.0, 2.0, 0.05, 0.0)], [2.0, 2.0], tec=(3.0, 4.0))
    book = book_with(offer)
    drafts = buy(book, {S0: 2.0, S0 + 1: 2.0})
    assert sum(d.energy_kwh for d in drafts) == pytest.approx(1.0)
    schedule = book.schedule("tec")
    assert validate_schedule(offer, schedule) == []
    assert sum(s.energy_amount for s in schedule.slices) == pytest.approx(3.0)


def test_all_or_nothing_orders_match_only_when_filled_whole() -> None:
    book = book_with(bid_offer("a", [(1, 0.0, 2.0, 0.05, 0.05)], [2.0]))
    assert buy(book, {S0: 5.0}, partial=False) == []
    assert summary(buy(book, {S0: 1.5}, partial=False)) == [("a", 0, 1.5, 0.05)]


def test_a_multi_slot_slice_deviates_evenly_over_its_slots() -> None:
    book = book_with(bid_offer("long", [(2, 0.0, 4.0, 0.05, 0.0)], [4.0]))
    assert summary(buy(book, {S0: 1.0, S0 + 1: 3.0})) == [("long", 0, 1.0, 0.05), ("long", 1, 1.0, 0.05)]


def test_a_new_bid_matches_resting_buy_orders_best_price_first() -> None:
    book = OrderBook()
    for order_id, price in (("low", 0.06), ("high", 0.09)):
        terms = BuyTerms(Direction.DOWN, None, price, {S0: 1.5}, True)
        book.buys[order_id] = BuyEntry(order_id, "dso", terms, book.next_priority(), {S0: 1.5})
    offer = bid_offer("a", [(1, 0.0, 2.0, 0.05, 0.0)], [2.0])
    book.bids["a"] = BidEntry("a", "seller", bid_terms(offer, max_abs_price=10), None, book.next_priority())
    drafts = book.match_bid("a", first_slot=OPEN, now=NOW)
    assert [(d.buy_order_id, d.energy_kwh) for d in drafts] == [("high", 1.5), ("low", 0.5)]


def test_gate_closure_and_deadline_exclude_starts_and_bids() -> None:
    book = book_with(bid_offer("a", [(1, 0.0, 2.0, 0.05, 0.0)], [2.0], tf=2))
    order = BuyTerms(Direction.DOWN, None, 0.2, {S0: 1.0, S0 + 2: 1.0}, True)
    book.buys["o"] = BuyEntry("o", "dso", order, 1, {S0: 1.0, S0 + 2: 1.0})
    assert [d.slot for d in book.match_buy("o", first_slot=S0 + 1, now=NOW)] == [S0 + 2]
    late = book_with(bid_offer("b", [(1, 0.0, 2.0, 0.05, 0.0)], [2.0]))
    assert buy(late, {S0: 1.0}) != []
    late2 = book_with(bid_offer("c", [(1, 0.0, 2.0, 0.05, 0.0)], [2.0]))
    late2.buys["o"] = BuyEntry("o", "dso", BuyTerms(Direction.DOWN, None, 0.2, {S0: 1.0}, True), 1, {S0: 1.0})
    assert late2.match_buy("o", first_slot=OPEN, now=T0) == []  # past the bid's assignment deadline
    assert slot_start(S0) == T0
