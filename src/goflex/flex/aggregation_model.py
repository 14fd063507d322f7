"""The values of aggregation: parameters, the aggregate and its id (pure; reference flexoffer.md section 3)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from goflex.flex.model import FlexOffer
from goflex.flex.offer_table import Bounds, Ints, OfferTable


class Direction(StrEnum):
    """Which way an offer's energy can flow (consumption-positive)."""

    CONSUMPTION = "consumption"
    PRODUCTION = "production"
    MIXED = "mixed"


class Alignment(StrEnum):
    """How members are placed in their aggregate (reference section 3.3).

    ``start``: each member at its own EST; ``baseline``: each member at its default schedule's start (its EST when
    it has none, or when that start is not a possible start), so the aggregate's baseline is the members'
    baselines added up and a common shift moves every member away from its baseline by the same time.
    """

    START = "start"
    BASELINE = "baseline"


class TecPolicy(StrEnum):
    """What to do with an offer whose total-energy constraint (TEC) binds (see :mod:`goflex.flex.offer_table`).

    Summed TECs forget which intervals each TEC spans, so an aggregate with such a member can have valid
    schedules that no member assignment meets (found by Hypothesis; see docs/flex.md).

    * ``box`` (default): the member takes part through its inner box - per-interval bounds inside which every
      assignment meets its TEC, with exactly the TEC as the range of totals. Every valid aggregate schedule is
      then disaggregatable by proportional fill; the member keeps its time flexibility and its effective energy
      flexibility, and loses only the freedom to move energy between its own intervals.
    * ``single``: the offer stays single (traded as it is, no flexibility lost, less compression).
    * ``sum``: the reference's plain summing; some aggregate schedules then raise
      :class:`goflex.flex.disaggregation.NoValidDisaggregation`. For comparison only.
    """

    BOX = "box"
    SINGLE = "single"
    SUM = "sum"


@dataclass(frozen=True, slots=True)
class AggregationParameters:
    """Grid, size bound, alignment and TEC policy of the aggregation.

    Attributes:
        origin: aware UTC datetime the EST cells count from.
        est_tolerance: EST cell width [intervals], >= 0; 0 groups equal ESTs only.
        tf_tolerance: time-flexibility cell width [intervals], >= 0; 0 loses no time flexibility.
        max_members: most members per aggregate, >= 1.
        aggregator_id: ``offeredById`` of the aggregates.
        single_binding_tec: kept for compatibility: ``True`` means ``tec_policy=TecPolicy.SINGLE``.
        alignment: start (reference default) or baseline alignment; with baseline alignment the EST cell is
            taken on the member's anchor (its default schedule's start).
        tec_policy: see :class:`TecPolicy`; the default makes every valid aggregate schedule disaggregatable.
    """

    origin: datetime
    est_tolerance: int = 0
    tf_tolerance: int = 0
    max_members: int = 100
    aggregator_id: str = "goflex-fman"
    single_binding_tec: bool = False
    alignment: Alignment = Alignment.START
    tec_policy: TecPolicy = TecPolicy.BOX

    def __post_init__(self) -> None:
        if self.est_tolerance < 0 or self.tf_tolerance < 0 or self.max_members < 1:
            raise ValueError("tolerances must be >= 0 and max_members >= 1")

    @property
    def effective_tec_policy(self) -> TecPolicy:
        """``tec_policy``, or ``single`` when ``single_binding_tec`` is set."""
        return TecPolicy.SINGLE if self.single_binding_tec else self.tec_policy


@dataclass(frozen=True, slots=True, eq=False)
class MemberColumns:
    """Where an aggregate's members sit in the table it was summed from (a cache for disaggregation).

    Attributes:
        table: the columns the aggregate was built from (shared by every aggregate of a batch).
        bounds: the bounds derived from ``table``.
        rows: the members' rows in ``table``, in the aggregate's member order.
    """

    table: OfferTable
    bounds: Bounds
    rows: Ints


@dataclass(frozen=True, slots=True)
class Aggregate:
    """An aggregate FlexOffer and the members it was summed from.

    A schedule starting at ``s_a`` starts member ``i`` at ``s_a + offsets[i]`` intervals (both alignments).

    Attributes:
        offer: the aggregate; one slice of duration 1 per interval.
        members: the member offers, sorted by id.
        offsets: each member's profile start relative to the aggregate's [intervals], >= 0.
        columns: the members' columns when built by :mod:`goflex.flex.grouping` (not part of the value: an
            aggregate read from a file has none and is equal to the one built).
    """

    offer: FlexOffer
    members: tuple[FlexOffer, ...]
    offsets: tuple[int, ...]
    columns: MemberColumns | None = field(default=None, compare=False, repr=False)

    @property
    def member_ids(self) -> tuple[str, ...]:
        """Ids of the members, in ``members`` order."""
        return tuple(m.id for m in self.members)


GroupKey = tuple[int, float, Direction, int, int]
"""(interval length [s], phase of the anchor on the interval grid [s], direction, anchor cell, tf cell)."""


def aggregate_id(member_ids: Iterable[str]) -> str:
    """Deterministic aggregate id: ``agg-`` and 16 hex digits of the SHA-256 of the sorted member ids."""
    digest = hashlib.sha256("\n".join(sorted(member_ids)).encode()).hexdigest()
    return f"agg-{digest[:16]}"
