"""The self-contained aggregates document of ``goflex flex aggregate`` / ``disaggregate`` (pure).

``{"flexOffer": [aggregates...], "members": {"<aggregateId>": ["<memberId>", ...]},
"memberOffers": [members...], "offsets": {"<aggregateId>": {"<memberId>": <intervals>}}}``: the aggregates as
FlexOffers (what goes to the market), and what disaggregation needs to split their schedules again. An offer
that could not be aggregated appears as an aggregate of one: itself, with itself as member at offset 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from goflex.flex.aggregation import Aggregate, AggregationParameters, aggregate_all
from goflex.flex.disaggregation import disaggregate
from goflex.flex.errors import InvalidFlexOffer
from goflex.flex.json_codec import dump_offer, dump_schedule, parse_offer, parse_schedule
from goflex.flex.model import FlexOffer
from goflex.flex.validation import require_valid, validate_offer, validate_schedule


@dataclass(frozen=True)
class AggregatesDocument:
    """Aggregates with their members (singles are aggregates of one with offset 0)."""

    aggregates: tuple[Aggregate, ...]

    def to_json(self) -> dict[str, Any]:
        """The document as JSON values."""
        members = {a.offer.id: list(a.member_ids) for a in self.aggregates}
        offsets = {a.offer.id: dict(zip(a.member_ids, a.offsets, strict=True)) for a in self.aggregates}
        seen: dict[str, FlexOffer] = {m.id: m for a in self.aggregates for m in a.members}
        return {
            "flexOffer": [dump_offer(a.offer) for a in self.aggregates],
            "members": members,
            "memberOffers": [dump_offer(m) for m in seen.values()],
            "offsets": offsets,
        }

    @classmethod
    def from_json(cls, document: object) -> AggregatesDocument:
        """Read :meth:`to_json`'s output.

        Raises:
            InvalidFlexOffer: a missing part, an unknown member id or an invalid offer (named).
        """
        if not isinstance(document, Mapping):
            raise InvalidFlexOffer("$", "an aggregates document is a JSON object")
        for key in ("flexOffer", "members", "memberOffers", "offsets"):
            if key not in document:
                raise InvalidFlexOffer(key, "missing: not an aggregates document of goflex flex aggregate")
        offers = {
            o.id: o for o in (parse_offer(v, f"memberOffers[{i}]") for i, v in enumerate(document["memberOffers"]))
        }
        aggregates = []
        for i, value in enumerate(document["flexOffer"]):
            offer = parse_offer(value, f"flexOffer[{i}]")
            ids = document["members"].get(offer.id)
            offsets = document["offsets"].get(offer.id)
            if not isinstance(ids, list) or not isinstance(offsets, Mapping):
                raise InvalidFlexOffer(f"members.{offer.id}", "no member list or offsets for this aggregate")
            unknown = [m for m in ids if m not in offers]
            if unknown:
                raise InvalidFlexOffer(f"members.{offer.id}", f"unknown member ids {unknown}")
            members = tuple(offers[m] for m in ids)
            aggregates.append(Aggregate(offer, members, tuple(int(offsets[m]) for m in ids)))
        return cls(tuple(aggregates))


def aggregate_document(offers: Sequence[FlexOffer], params: AggregationParameters) -> AggregatesDocument:
    """Aggregate ``offers`` (each validated first) into a document; singles become aggregates of one.

    Raises:
        InvalidFlexOffer: the first problem of the first invalid offer.
    """
    for i, offer in enumerate(offers):
        require_valid(validate_offer(offer, f"flexOffer[{i}]"))
    aggregator = aggregate_all(offers, params)
    singles = tuple(Aggregate(o, (o,), (0,)) for o in aggregator.singles())
    return AggregatesDocument(aggregator.aggregates() + singles)


def disaggregate_document(document: AggregatesDocument, schedules: object) -> dict[str, Any]:
    """Member schedules for ``{"schedules": {"<aggregateId>": {...}}}``, in the same form.

    Raises:
        InvalidFlexOffer: a malformed schedules file, an unknown aggregate id, or a schedule that is not valid for
            its single offer.
        goflex.flex.disaggregation.InvalidAggregateSchedule: a schedule not valid for its aggregate.
        goflex.flex.disaggregation.NoValidDisaggregation: no member assignment meets every constraint.
    """
    if not isinstance(schedules, Mapping) or not isinstance(schedules.get("schedules"), Mapping):
        raise InvalidFlexOffer("schedules", 'expected {"schedules": {"<aggregateId>": {...}}}')
    by_id = {a.offer.id: a for a in document.aggregates}
    out: dict[str, Any] = {}
    for agg_id, value in schedules["schedules"].items():
        agg = by_id.get(agg_id)
        if agg is None:
            raise InvalidFlexOffer(f"schedules.{agg_id}", "no such aggregate in the aggregates document")
        schedule = parse_schedule(value, f"schedules.{agg_id}")
        if agg.members == (agg.offer,):  # a single: its schedule is the member's
            require_valid(validate_schedule(agg.offer, schedule, f"schedules.{agg_id}"))
            out[agg_id] = dump_schedule(schedule)
            continue
        for member_id, member_schedule in disaggregate(agg, schedule).schedules.items():
            out[member_id] = dump_schedule(member_schedule)
    return {"schedules": out}
