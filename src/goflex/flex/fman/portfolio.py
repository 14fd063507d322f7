"""The FMAN portfolio: accepted FlexOffers aggregated incrementally, and the plan of a bid round (pure).

Offers are aggregated per grid location (a bid is placed at one ``locationId``; offers without one share the
location ``None``) with :class:`goflex.flex.aggregation.Aggregator`, which changes only the cell of an offer
added or removed. The TEC policy must make **every** schedule FMAR may assign disaggregatable (``box``, the
default, or ``single``; ``sum`` is refused). Offers that stay single are traded as aggregates of one.

A bid round compares the portfolio's groups with the bids that are live at FMAR (:func:`plan_round`): a bid whose
aggregate is still exactly in the portfolio is left alone; any other live bid is stale and is either updated in
place to a successor aggregate (``PUT``) or revoked (``DELETE``); every group not covered by a live bid is
submitted. The update is planned only when it cannot sell a member twice: the successor takes no member of
another live bid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from goflex.flex.aggregation import Aggregate, AggregationParameters, Aggregator, TecPolicy, aggregate
from goflex.flex.model import FlexOffer


@dataclass(frozen=True, slots=True)
class Group:
    """One tradable unit of the portfolio: an aggregate (maybe of one) at a grid location."""

    aggregate: Aggregate
    location_id: str | None

    @property
    def id(self) -> str:
        """The aggregate's id (``agg-`` and a hash of the member ids)."""
        return self.aggregate.offer.id


class Portfolio:
    """Accepted offers, aggregated per location, updated incrementally."""

    def __init__(self, params: AggregationParameters) -> None:
        """Start empty.

        Raises:
            ValueError: the TEC policy is ``sum`` (some aggregate schedules would not disaggregate).
        """
        if params.effective_tec_policy is TecPolicy.SUM:
            raise ValueError("FMAN needs a TEC policy under which every aggregate schedule disaggregates")
        self._params = params
        self._by_location: dict[str | None, Aggregator] = {}
        self._location: dict[str, str | None] = {}
        self._singles: dict[str, Aggregate] = {}

    def __contains__(self, offer_id: object) -> bool:
        return offer_id in self._location

    def __len__(self) -> int:
        return len(self._location)

    def add(self, offer: FlexOffer) -> None:
        """Add a new fixed-duration offer.

        Raises:
            ValueError: an offer with this id is held already.
        """
        if offer.id in self._location:
            raise ValueError(f"{offer.id}: already in the portfolio")
        aggregator = self._by_location.get(offer.location_id)
        if aggregator is None:
            aggregator = self._by_location[offer.location_id] = Aggregator(self._params)
        aggregator.add(offer)
        self._location[offer.id] = offer.location_id

    def remove(self, offer_id: str) -> None:
        """Remove an offer (no-op when it is not held)."""
        if offer_id not in self._location:
            return
        location = self._location.pop(offer_id)
        self._by_location[location].remove(offer_id)
        self._singles.pop(offer_id, None)

    def update(self, offer: FlexOffer) -> None:
        """Replace the offer with the same id."""
        self.remove(offer.id)
        self.add(offer)

    def groups(self) -> dict[str, Group]:
        """Every group by id: aggregates and singles (as aggregates of one, built once per offer)."""
        out: dict[str, Group] = {}
        for location, aggregator in self._by_location.items():
            for agg in aggregator.aggregates():
                out[agg.offer.id] = Group(agg, location)
            for single in aggregator.singles():
                held = self._singles.get(single.id)
                if held is None or held.members[0] is not single:
                    held = self._singles[single.id] = aggregate([single], self._params)
                out[held.offer.id] = Group(held, location)
        return out


@dataclass(frozen=True, slots=True)
class LiveBid:
    """A bid FMAR holds (open, not yet matched as far as FMAN knows): its id and the aggregate it was built from."""

    bid_id: str
    aggregate: Aggregate


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """What a bid round does, in this order: updates, revocations, then submissions.

    Attributes:
        updates: ``(bid_id, group)``: replace the live bid with the group's bid (``PUT``).
        revokes: live bids to withdraw (``DELETE``).
        submits: groups without a live bid (``POST``).
        unchanged: live bids whose aggregate is still in the portfolio as it was.
    """

    updates: tuple[tuple[str, Group], ...]
    revokes: tuple[str, ...]
    submits: tuple[Group, ...]
    unchanged: tuple[str, ...]


def _same(a: Aggregate, b: Aggregate) -> bool:
    return a is b or (a.members == b.members and a.offsets == b.offsets)


def plan_round(groups: Mapping[str, Group], live: Iterable[LiveBid]) -> RoundPlan:
    """Plan a bid round (see the module docstring).

    Args:
        groups: the portfolio's groups by id.
        live: the bids FMAR holds for this portfolio.

    Returns:
        The plan; every group is covered by exactly one of ``unchanged``, ``updates`` or ``submits``.
    """
    live = list(live)
    unchanged = [
        b for b in live if b.aggregate.offer.id in groups and _same(b.aggregate, groups[b.aggregate.offer.id].aggregate)
    ]
    covered = {b.aggregate.offer.id for b in unchanged}
    stale = [b for b in live if b not in unchanged]
    owner = {m: b.bid_id for b in live for m in b.aggregate.member_ids}
    free = [g for gid, g in sorted(groups.items()) if gid not in covered]
    updates: list[tuple[str, Group]] = []
    revokes: list[str] = []
    for bid in stale:
        mine = set(bid.aggregate.member_ids)
        best: Group | None = None
        best_overlap = 0
        for group in free:
            ids = group.aggregate.member_ids
            if any(owner.get(m, bid.bid_id) != bid.bid_id for m in ids):
                continue  # would take a member of another live bid: that one may be matched already
            overlap = len(mine.intersection(ids))
            if overlap > best_overlap:
                best, best_overlap = group, overlap
        if best is None:
            revokes.append(bid.bid_id)
        else:
            updates.append((bid.bid_id, best))
            free.remove(best)
    return RoundPlan(tuple(updates), tuple(revokes), tuple(free), tuple(b.bid_id for b in unchanged))
