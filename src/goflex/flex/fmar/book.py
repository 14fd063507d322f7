"""The order book: open bids and buy orders, continuous matching and the bids' schedules (pure, in memory).

The service keeps one :class:`OrderBook` and rebuilds it from the database at start (open orders and their
contracts), so a restart loses nothing. Matching is continuous (trading contract): a new or updated buy order is
matched against every open bid at once (:meth:`OrderBook.match_buy`); a new or updated bid against the open buy
orders, best price first, then oldest (:meth:`OrderBook.match_bid`). Each event is solved by
:func:`goflex.flex.fmar.matching.match`. A fill of a slice spanning ``d`` slots becomes ``d`` contracts of a
``d``-th of its energy each, one per slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from goflex.flex.fmar.matching import ENERGY_EPS_KWH, BidView, Fill, has_headroom, location_matches, match
from goflex.flex.fmar.terms import BidTerms, BuyTerms, Direction, slot_start
from goflex.flex.model import Schedule, ScheduleSlice


@dataclass
class BidEntry:
    """An open bid: its terms and what it has sold so far (start and committed energy per slice [kWh])."""

    order_id: str
    participant_id: str
    terms: BidTerms
    location_id: str | None
    priority: int
    start_slot: int | None = None
    committed: dict[int, tuple[Direction, float]] = field(default_factory=dict)

    def view(self) -> BidView:
        """The bid as the matcher sees it."""
        return BidView(
            self.order_id, self.terms, self.location_id, self.start_slot, dict(self.committed), self.priority
        )


@dataclass
class BuyEntry:
    """An open buy order and its remaining energy per slot [kWh]."""

    order_id: str
    participant_id: str
    terms: BuyTerms
    priority: int
    remaining: dict[int, float]

    @property
    def filled(self) -> bool:
        """Nothing is left to buy."""
        return all(r <= ENERGY_EPS_KWH for r in self.remaining.values())


@dataclass(frozen=True, slots=True)
class ContractDraft:
    """A match before it is stored: one buy order, one bid, one slot.

    Attributes:
        buy_order_id: the buy order.
        sell_order_id: the bid.
        buyer_id: the buy order's participant.
        seller_id: the bid's participant.
        slot: the delivery slot [slot index].
        direction: of the deviation.
        energy_kwh: deviation from the reference in that slot [kWh], > 0.
        price: pay-as-bid price [EUR/kWh] (the bid's asked price).
        slice_index: the bid's profile slice this slot belongs to.
        start_slot: the bid's start [slot index].
    """

    buy_order_id: str
    sell_order_id: str
    buyer_id: str
    seller_id: str
    slot: int
    direction: Direction
    energy_kwh: float
    price: float
    slice_index: int
    start_slot: int


def bid_schedule(terms: BidTerms, start_slot: int, committed: dict[int, tuple[Direction, float]]) -> Schedule:
    """The schedule of a bid: sold slices at reference +- their energy, the rest as near their reference as the
    total-energy constraint allows (raised toward ``upper`` or lowered toward ``lower`` in profile order).

    Raises:
        ValueError: no valid schedule exists (the matcher's TEC room rules this out).
    """
    amounts = []
    for j, s in enumerate(terms.slices):
        done = committed.get(j)
        value = s.reference if done is None else s.reference + done[0].sign * done[1]
        amounts.append(min(s.upper, max(s.lower, value)))
    free = [j for j in range(len(terms.slices)) if j not in committed]
    total = sum(amounts)
    for j in free:
        s = terms.slices[j]
        if total < terms.total_lower:
            step = min(s.upper - amounts[j], terms.total_lower - total)
        elif total > terms.total_upper:
            step = -min(amounts[j] - s.lower, total - terms.total_upper)
        else:
            break
        amounts[j] += step
        total += step
    if not terms.total_lower - 1e-9 <= sum(amounts) <= terms.total_upper + 1e-9:
        raise ValueError(f"{terms.offer.id}: no schedule meets the total-energy constraint")
    slices = tuple(ScheduleSlice(s.duration, a) for s, a in zip(terms.slices, amounts, strict=True))
    return Schedule(slot_start(start_slot), slices)


class OrderBook:
    """Open bids and buy orders, and the matching between them."""

    def __init__(self) -> None:
        self.bids: dict[str, BidEntry] = {}
        self.buys: dict[str, BuyEntry] = {}
        self._rank = 0

    def next_priority(self) -> int:
        """A rank later than every order so far (time priority)."""
        self._rank += 1
        return self._rank

    def note_priority(self, priority: int) -> None:
        """Make later ranks exceed ``priority`` (used when rebuilding the book)."""
        self._rank = max(self._rank, priority)

    def remove(self, order_id: str) -> None:
        """Take an order out of the book (revoked, scheduled, rejected, expired); unknown ids are ignored."""
        self.bids.pop(order_id, None)
        self.buys.pop(order_id, None)

    def _open_bids(self, now: datetime) -> list[BidEntry]:
        return [b for b in self.bids.values() if b.terms.deadline > now]

    def match_buy(self, order_id: str, *, first_slot: int, now: datetime) -> list[ContractDraft]:
        """Match buy order ``order_id`` against every open bid whose deadline has not passed."""
        buy = self.buys[order_id]
        low, high = min(buy.terms.slots), max(buy.terms.slots)
        bids = [
            b
            for b in self._open_bids(now)
            # only bids whose reach [EST, LST + length) overlaps the order's slots can contribute
            if b.terms.est_slot <= high
            and b.terms.lst_slot + b.terms.length > low
            and location_matches(buy.terms.location_id, b.location_id)
        ]
        if not bids:
            return []
        fills = match(buy.terms, buy.remaining, [b.view() for b in bids], first_slot=first_slot)
        return self._apply(buy, fills)

    def match_bid(self, order_id: str, *, first_slot: int, now: datetime) -> list[ContractDraft]:
        """Match bid ``order_id`` against the open buy orders, highest max price first, then oldest."""
        bid = self.bids[order_id]
        if bid.terms.deadline <= now:
            return []
        drafts: list[ContractDraft] = []
        for buy in sorted(self.buys.values(), key=lambda b: (-b.terms.max_price, b.priority)):
            if buy.filled or not location_matches(buy.terms.location_id, bid.location_id):
                continue
            fills = match(buy.terms, buy.remaining, [bid.view()], first_slot=first_slot)
            drafts += self._apply(buy, fills)
        return drafts

    def _apply(self, buy: BuyEntry, fills: list[Fill]) -> list[ContractDraft]:
        drafts = []
        for f in fills:
            bid = self.bids[f.bid_id]
            s = bid.terms.slices[f.slice_index]
            bid.start_slot = f.start_slot
            done = bid.committed.get(f.slice_index)
            bid.committed[f.slice_index] = (buy.terms.direction, f.energy_kwh + (done[1] if done else 0.0))
            share = f.energy_kwh / s.duration
            for slot in range(f.start_slot + s.offset, f.start_slot + s.offset + s.duration):
                buy.remaining[slot] = max(0.0, buy.remaining[slot] - share)
                drafts.append(
                    ContractDraft(
                        buy.order_id,
                        bid.order_id,
                        buy.participant_id,
                        bid.participant_id,
                        slot,
                        buy.terms.direction,
                        share,
                        f.price,
                        f.slice_index,
                        f.start_slot,
                    )
                )
        return drafts

    def schedule(self, order_id: str) -> Schedule:
        """The schedule of a matched bid (see :func:`bid_schedule`).

        Raises:
            KeyError: the bid is not in the book. ValueError: it has no start yet.
        """
        bid = self.bids[order_id]
        if bid.start_slot is None:
            raise ValueError(f"{order_id} is not matched")
        return bid_schedule(bid.terms, bid.start_slot, bid.committed)

    def exhausted(self, order_id: str) -> bool:
        """Whether a matched bid can sell nothing more in either direction (its schedule can be fixed now)."""
        bid = self.bids[order_id]
        if bid.start_slot is None:
            return False
        view = bid.view()
        for direction in Direction:
            order = BuyTerms(direction, bid.location_id, float("inf"), {})
            wanted = {t: float("inf") for t in range(bid.start_slot, bid.start_slot + bid.terms.length)}
            if has_headroom(order, wanted, view):
                return False
        return True

    def due_bids(self, now: datetime) -> list[str]:
        """Bids whose assignment deadline has passed (to be scheduled or rejected)."""
        return [b.order_id for b in self.bids.values() if b.terms.deadline <= now]

    def closed_buys(self, first_slot: int) -> list[str]:
        """Buy orders with nothing left to buy in an open slot (filled, or every wanted slot past gate closure)."""
        return [
            b.order_id
            for b in self.buys.values()
            if all(r <= ENERGY_EPS_KWH or t < first_slot for t, r in b.remaining.items())
        ]
