"""Settings of the FMAN service (plain values; the command line fills them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from goflex.flex.aggregation import AggregationParameters, TecPolicy
from goflex.flex.fman.accounting import RemunerationRule
from goflex.flex.fman.bids import BidPricing

# EST cells count from a fixed instant, so that every FMAN process (and a restart) builds the same groups.
GRID_ORIGIN = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FmanSettings:
    """How FMAN aggregates, bids, pays and paces itself.

    Attributes:
        aggregator_id: FMAN's participant id at FMAR (``offeredById`` of its bids).
        est_tolerance: EST grid cell [intervals] (GOFLEX production: 20).
        tf_tolerance: time-flexibility grid cell [intervals] (0 loses no time flexibility).
        max_members: members per aggregate at most.
        pricing: bid costs [EUR/kWh] and delivery margin [s].
        remuneration: how prosumers are paid.
        bid_interval_s: seconds between bid rounds [s] (platform clock).
        pull_interval_s: seconds between pulls of FMAR's schedules [s].
        settlement_wait_s: how long after a scheduled bid's end FMAN waits for its members' metering before it
            forwards what it has to FMAR (missing members count as their baseline) [s].
        push_timeout_s: timeout of a push to an agent's callback [s].
        backoff_base_s: first retry ceiling when FMAR is unreachable [s]; doubles up to ``backoff_cap_s``.
        backoff_cap_s: longest retry delay [s].
    """

    aggregator_id: str = "goflex-fman"
    est_tolerance: int = 0
    tf_tolerance: int = 0
    max_members: int = 100
    pricing: BidPricing = field(default_factory=BidPricing)
    remuneration: RemunerationRule = field(default_factory=RemunerationRule)
    bid_interval_s: float = 60.0
    pull_interval_s: float = 15.0
    settlement_wait_s: float = 3600.0
    push_timeout_s: float = 5.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0

    def aggregation(self) -> AggregationParameters:
        """The grid of the portfolio."""
        return AggregationParameters(
            origin=GRID_ORIGIN,
            est_tolerance=self.est_tolerance,
            tf_tolerance=self.tf_tolerance,
            max_members=self.max_members,
            aggregator_id=self.aggregator_id,
            tec_policy=TecPolicy.BOX,
        )
