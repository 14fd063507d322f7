"""FMAN forwards the metering of its scheduled bids to FMAR and keeps FMAR's settlement (issue 4, trading contract).

A bid is forwarded when every member assigned to it has metered all its intervals (``executed``), or
``settlement_wait_s`` after the bid's end with what is there (:func:`goflex.flex.fman.accounting.bid_metering`: a
missing member interval counts as the member's baseline, and so does a member withdrawn before the schedule came).
The market's payment then replaces FMAN's estimate in the members' payment shares and remuneration (fman.md,
"Settlement at FMAR"). FMAR's ``already_settled`` is answered by reading its settlement; any other refusal marks
the bid ``settlement_failed`` and is counted; an unreachable FMAR leaves the bid ``scheduled`` for the next round.

The caller (:meth:`goflex.flex.fman.trading.Trader.settle_round`) holds the trader's lock, so a round never runs
alongside a bid round or a pull.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from goflex.common.clock import Clock
from goflex.flex.fman import accounting
from goflex.flex.fman.errors import MarketRefused
from goflex.flex.fman.market_client import MarketClient, MarketSettlement
from goflex.flex.fman.repository import BidRecord, FmanStore, OfferRecord
from goflex.flex.fman.settings import FmanSettings
from goflex.flex.model import FlexOfferState

log = logging.getLogger(__name__)


class SettlementForwarder:
    """Forwards the metering of scheduled bids to FMAR (see the module docstring).

    Args:
        store: FMAN's tables.
        clock: the platform clock.
        settings: the settlement wait and the remuneration rule.
        market: FMAR's client, or ``None`` (nothing is forwarded).
        counters: shared service counters (``GET /stats``).
    """

    def __init__(
        self,
        store: FmanStore,
        clock: Clock,
        settings: FmanSettings,
        *,
        market: MarketClient | None,
        counters: Counter[str],
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.market = market
        self.counters = counters

    async def round(self) -> None:
        """Forward every scheduled bid whose settlement is due (call with the trader's lock held).

        Raises:
            MarketUnavailable: FMAR did not answer; the bid is forwarded again at the next round.
        """
        if self.market is None:
            return
        with self.store.read() as tx:
            due = [(bid, tx.offers(ids=bid.aggregate.member_ids)) for bid in tx.bids(["scheduled"])]
        for bid, records in due:
            if bid.schedule is not None and bid.order_id is not None and self.due(bid, records):
                await self.forward(bid, records)

    def due(self, bid: BidRecord, records: list[OfferRecord]) -> bool:
        """Whether ``bid`` is to be forwarded now: every member executed, or the settlement wait is over."""
        assert bid.schedule is not None
        ours = [r for r in records if r.bid_id == bid.id and r.schedule is not None]
        if ours and all(r.state == FlexOfferState.EXECUTED.value for r in ours):
            return True
        step = timedelta(seconds=bid.bid.num_seconds_per_interval)
        end = bid.schedule.start_time + step * sum(max(1, s.duration) for s in bid.schedule.slices)
        return self.clock.now() >= end + timedelta(seconds=self.settings.settlement_wait_s)

    async def forward(self, bid: BidRecord, records: list[OfferRecord]) -> None:
        """``POST /metering`` of the bid's summed member metering to FMAR and store the settlement.

        Raises:
            MarketUnavailable: FMAR did not answer.
        """
        assert self.market is not None
        assert bid.schedule is not None
        assert bid.order_id is not None
        step = timedelta(seconds=bid.bid.num_seconds_per_interval)
        by_id = {r.id: r for r in records}
        members = []
        for member, offset in zip(bid.aggregate.members, bid.aggregate.offsets, strict=True):
            record = by_id.get(member.id)
            if record is not None and record.bid_id == bid.id and record.schedule is not None:
                members.append(accounting.MemberMetering(record.offer, record.schedule.start_time, record.metered))
            else:  # withdrawn or expired before the schedule came: it ran its baseline
                members.append(accounting.MemberMetering(member, bid.schedule.start_time + offset * step, {}))
        intervals = accounting.bid_metering(bid.schedule, bid.bid.num_seconds_per_interval, members)
        try:
            settlement = await self.market.post_metering(bid.order_id, intervals)
        except MarketRefused as exc:
            known = await self.market.settlement(bid.order_id) if exc.code == "already_settled" else None
            if known is None:
                self.counters[f"settlements_refused_{exc.code}"] += 1
                log.error("bid %s: FMAR refused its metering: %s %s", bid.id, exc.code, exc)
                bid.state, bid.reason = "settlement_failed", exc.code
                with self.store.write() as tx:
                    tx.save_bid(bid, self.clock.now())
                return
            settlement = known
        self.store_settlement(bid, records, settlement)

    def store_settlement(self, bid: BidRecord, records: list[OfferRecord], settlement: MarketSettlement) -> None:
        """Keep FMAR's settlement with the bid and share its payment among the members by delivered flexibility."""
        ours = [r for r in records if r.bid_id == bid.id and r.schedule is not None]
        shares = accounting.settled_shares(settlement.payment_eur, {r.id: r.delivered_flex_kwh for r in ours})
        now = self.clock.now()
        with self.store.write() as tx:
            for record in ours:
                record.payment_share_eur = shares[record.id]
                record.remuneration_eur = accounting.settled_remuneration_eur(
                    self.settings.remuneration,
                    settled_share_eur=shares[record.id],
                    delivered_flex=record.delivered_flex_kwh,
                )
                tx.save_offer(record, now)
            bid.state, bid.settlement = "settled", settlement
            tx.save_bid(bid, now)
        self.counters["bids_settled"] += 1
