"""Matching invariants for any bids and buy orders (Hypothesis).

Every contract is within its buyer's price limit and its bid's window and bounds; per buy order and slot the
contracts add up to at most what was asked; each bid has one start; each bid's schedule is a valid schedule of its
FlexOffer (goflex.flex.validation.validate_schedule) and deviates from the reference by exactly what was sold.
"""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.flex.fmar.book import BidEntry, BuyEntry, ContractDraft, OrderBook
from goflex.flex.fmar.terms import BuyTerms, Direction, bid_terms, slot_of
from goflex.flex.model import FlexOffer
from goflex.flex.validation import validate_schedule
from tests.unit.flex.fmar.offers import NOW, T0, bid_offer

S0 = slot_of(T0)
_kwh = st.integers(0, 12).map(lambda n: n / 4)
_price = st.one_of(st.none(), st.integers(0, 10).map(lambda n: n / 100))


@st.composite
def bids(draw: st.DrawFn, offer_id: str) -> FlexOffer:
    slices, base = [], []
    for _ in range(draw(st.integers(1, 3))):
        lo, hi = sorted((draw(_kwh), draw(_kwh)))
        down, up = draw(_price), draw(_price)
        slices.append((draw(st.integers(1, 2)), lo, hi, down, None if down is None else (up or 0.0)))
        base.append(draw(_kwh))
    low, high = sum(s[1] for s in slices), sum(s[2] for s in slices)
    tec = None
    if draw(st.booleans()):
        a, b = sorted((draw(st.floats(low, high)), draw(st.floats(low, high))))
        tec = (a, b)
    return bid_offer(offer_id, slices, base, est=draw(st.integers(0, 4)), tf=draw(st.integers(0, 3)), tec=tec)


@st.composite
def buys(draw: st.DrawFn) -> BuyTerms:
    slots = draw(st.dictionaries(st.integers(0, 9).map(lambda k: S0 + k), _kwh.filter(lambda e: e > 0), min_size=1))
    direction = draw(st.sampled_from(Direction))
    return BuyTerms(direction, None, draw(st.integers(0, 10).map(lambda n: n / 100)), slots, draw(st.booleans()))


@settings(max_examples=150, deadline=None)
@given(
    offers=st.lists(st.integers(), min_size=1, max_size=4).flatmap(
        lambda ids: st.tuples(*(bids(f"bid{i}") for i in range(len(ids))))
    ),
    orders=st.lists(buys(), min_size=1, max_size=4),
    late=st.integers(0, 4),
)
def test_every_contract_respects_bounds_window_price_and_quantity(
    offers: tuple[FlexOffer, ...], orders: list[BuyTerms], late: int
) -> None:
    book = OrderBook()
    drafts: list[ContractDraft] = []
    first_slot = S0 - 8
    # Some bids rest before the buy orders arrive, the others arrive after them (both matching paths).
    early, later = offers[: max(1, len(offers) - late)], offers[max(1, len(offers) - late) :]
    for offer in early:
        book.bids[offer.id] = BidEntry(offer.id, "s", bid_terms(offer, max_abs_price=1), None, book.next_priority())
    for i, terms in enumerate(orders):
        book.buys[f"o{i}"] = BuyEntry(f"o{i}", "dso", terms, book.next_priority(), dict(terms.slots))
        drafts += book.match_buy(f"o{i}", first_slot=first_slot, now=NOW)
    for offer in later:
        book.bids[offer.id] = BidEntry(offer.id, "s", bid_terms(offer, max_abs_price=1), None, book.next_priority())
        drafts += book.match_bid(offer.id, first_slot=first_slot, now=NOW)

    by_offer = {o.id: o for o in offers}
    per_slot: dict[tuple[str, int], float] = defaultdict(float)
    for d in drafts:
        order = orders[int(d.buy_order_id[1:])]
        assert d.energy_kwh > 0
        assert d.direction is order.direction
        assert d.price <= order.max_price
        per_slot[d.buy_order_id, d.slot] += d.energy_kwh
        entry = book.bids[d.sell_order_id]
        assert entry.start_slot == d.start_slot
        assert entry.terms.est_slot <= d.start_slot <= entry.terms.lst_slot
        s = entry.terms.slices[d.slice_index]
        assert d.start_slot + s.offset <= d.slot < d.start_slot + s.offset + s.duration
        assert s.price(d.direction) == d.price
    for (order_id, slot), total in per_slot.items():
        assert total <= orders[int(order_id[1:])].slots[slot] + 1e-6
    for bid_id, entry in book.bids.items():
        if entry.start_slot is None:
            continue
        schedule = book.schedule(bid_id)
        assert validate_schedule(by_offer[bid_id], schedule) == []
        for j, (direction, energy) in entry.committed.items():
            sold = sum(d.energy_kwh for d in drafts if d.sell_order_id == bid_id and d.slice_index == j)
            assert abs(sold - energy) < 1e-6
            s = entry.terms.slices[j]
            deviation = schedule.slices[j].energy_amount - s.reference
            assert abs(deviation - direction.sign * energy) < 1e-6
