"""FMAN's side of the market: the portfolio, bid rounds, the schedule pull, disaggregation and delivery.

State lives in the database (offers, bids, deliveries); the portfolio and the live bids are rebuilt from it at
start (:meth:`Trader.load`). One asyncio lock serialises everything that talks to FMAR about bids (bid rounds,
pulls, and the revocation a withdrawal or replacement of a member needs), so a member is never in two live bids.

Lifecycle of a member offer here: ``accepted`` (in the portfolio, maybe in a live bid) -> ``assigned`` (its share
of a bid's schedule is delivered) or ``rejected`` (its bid was rejected or unmatched, or no schedule came by its
``assignmentBeforeTime``: the agent runs its baseline). A bid FMAR refuses to revoke or update is ``locked``: it
is matched, its members leave the portfolio and wait for its schedule. Once a scheduled bid has been executed,
:class:`~goflex.flex.fman.settlement_forwarding.SettlementForwarder` forwards its metering to FMAR (under the same
lock).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from goflex.common.clock import Clock
from goflex.flex.disaggregation import InvalidAggregateSchedule, NoValidDisaggregation, disaggregate
from goflex.flex.fman.accounting import payment_shares, scheduled_flex_kwh
from goflex.flex.fman.bids import bid_deadline, build_bid, market_payment_eur
from goflex.flex.fman.errors import MarketRefused, MarketUnavailable, RequestRefused
from goflex.flex.fman.market_client import MarketClient, MarketRejection, MarketSchedule
from goflex.flex.fman.portfolio import Group, LiveBid, Portfolio, plan_round
from goflex.flex.fman.push import Pusher
from goflex.flex.fman.repository import BidRecord, FmanStore, OfferRecord, Tx
from goflex.flex.fman.sale import for_sale
from goflex.flex.fman.settings import FmanSettings
from goflex.flex.fman.settlement_forwarding import SettlementForwarder
from goflex.flex.json_codec import dump_schedule
from goflex.flex.model import FlexOffer, FlexOfferState, Schedule

log = logging.getLogger(__name__)

LIVE_STATES = ("pending", "open")
ACCEPTED = FlexOfferState.ACCEPTED.value
NO_SCHEDULE_BY_DEADLINE = "no_schedule_by_deadline"


class Trader:
    """Portfolio and bids of one FMAN.

    Args:
        store: FMAN's tables.
        clock: the platform clock.
        settings: aggregation grid, pricing, remuneration.
        market: FMAR's client, or ``None`` to hold offers without trading (they are rejected at their deadline).
        pusher: pushes deliveries to agents with a callback URL.
        counters: shared service counters (``GET /stats``).
    """

    def __init__(
        self,
        store: FmanStore,
        clock: Clock,
        settings: FmanSettings,
        *,
        market: MarketClient | None,
        pusher: Pusher | None,
        counters: Counter[str],
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.market = market
        self.pusher = pusher
        self.counters = counters
        self.portfolio = Portfolio(settings.aggregation())
        self.live: dict[str, BidRecord] = {}
        self.lock = asyncio.Lock()
        self._deadlines: dict[str, datetime] = {}
        self._acks: list[str] = []
        self.settlement = SettlementForwarder(store, clock, settings, market=market, counters=counters)

    # ----------------------------------------------------------------------------------------------- portfolio
    def load(self) -> None:
        """Rebuild the portfolio and the live bids from the database (start, restart)."""
        with self.store.read() as tx:
            offers = tx.offers(states=[ACCEPTED])
            live = tx.bids(LIVE_STATES)
        self.live = {b.id: b for b in live}
        for record in offers:
            if record.bid_id is None:  # members of locked or scheduled bids are committed
                self.admit(record.offer)
        log.info("portfolio rebuilt: %d offers, %d live bids", len(self.portfolio), len(self.live))

    def admit(self, offer: FlexOffer) -> None:
        """Add an accepted offer to the portfolio, as it is for sale (unpriced slices pinned, :mod:`.sale`)."""
        self.portfolio.add(for_sale(offer))
        self._deadlines[offer.id] = offer.assignment_before_time

    def drop(self, offer_id: str) -> None:
        """Take an offer out of the portfolio (no-op when absent)."""
        self.portfolio.remove(offer_id)
        self._deadlines.pop(offer_id, None)

    def live_bid_of(self, offer_id: str) -> BidRecord | None:
        """The live bid holding this member, if any."""
        return next((b for b in self.live.values() if offer_id in b.aggregate.member_ids), None)

    async def release(self, record: OfferRecord) -> None:
        """Make a member free to change: revoke the live bid holding it (call with :attr:`lock` held).

        The bid's other members stay in the portfolio and are bid again in the next round.

        Raises:
            RequestRefused: 409 ``not_revocable`` when the member is committed to a matched bid; 503
                ``market_unavailable`` when FMAR cannot be asked.
        """
        if record.bid_id is not None:
            raise RequestRefused(409, "not_revocable", f"flexOffer {record.id} is in matched bid {record.bid_id}")
        bid = self.live_bid_of(record.id)
        if bid is None:
            return
        try:
            locked = not await self._revoke(bid)
        except MarketUnavailable as exc:
            self.counters["market_failures"] += 1
            raise RequestRefused(503, "market_unavailable", f"cannot revoke its bid now; retry later ({exc})") from exc
        if locked:
            raise RequestRefused(409, "not_revocable", f"flexOffer {record.id}: its bid is matched already")

    # ---------------------------------------------------------------------------------------------- deliveries
    def _deliver(
        self, tx: Tx, record: OfferRecord, schedule: Schedule | None, reason: str | None, pushes: list[Any]
    ) -> None:
        now = self.clock.now()
        tx.deliver(record.id, record.agent_id, schedule, reason, now)
        agent = tx.agent(record.agent_id)
        if agent is not None and agent.callback_url:
            payload: dict[str, Any] = {"flexOfferId": record.id}
            if schedule is not None:
                payload["flexOfferSchedule"] = dump_schedule(schedule)
            else:
                payload["rejected"] = reason
            pushes.append((agent.callback_url, payload))

    def _push(self, pushes: Iterable[tuple[str, dict[str, Any]]]) -> None:
        if self.pusher is not None:
            for url, payload in pushes:
                self.pusher.push(url, payload)

    def _reject_members(self, tx: Tx, member_ids: Iterable[str], reason: str, pushes: list[Any]) -> None:
        now = self.clock.now()
        for record in tx.offers(ids=list(member_ids)):
            self.drop(record.id)
            if record.state != ACCEPTED:
                continue
            record.state, record.reason = FlexOfferState.REJECTED.value, reason
            record.message = f"rejected by the market or unscheduled by the deadline ({reason}); run the baseline"
            tx.save_offer(record, now)
            self._deliver(tx, record, None, reason, pushes)
            self.counters[f"members_rejected_{reason}"] += 1

    def expire(self) -> None:
        """Reject members whose ``assignmentBeforeTime`` passed without a schedule (the agent runs its baseline)."""
        now = self.clock.now()
        due = [i for i, deadline in self._deadlines.items() if deadline <= now]
        if not due:
            return
        pushes: list[Any] = []
        with self.store.write() as tx:
            self._reject_members(tx, due, NO_SCHEDULE_BY_DEADLINE, pushes)
        self._push(pushes)

    # ---------------------------------------------------------------------------------------------- bid round
    async def bid_round(self) -> None:
        """Expire, then bring FMAR's bids in line with the portfolio (see :mod:`goflex.flex.fman.portfolio`).

        Raises:
            MarketUnavailable: FMAR did not answer; what was done so far is stored, the rest waits for a retry.
        """
        async with self.lock:
            self.expire()
            if self.market is None:
                return
            for bid in [b for b in self.live.values() if b.state == "pending"]:
                await self._confirm(bid)
            for _ in range(4):  # a refused update or revocation changes the portfolio: plan again
                plan = plan_round(self.portfolio.groups(), self._live_bids())
                if not plan.updates and not plan.revokes:
                    break
                for bid_id, group in plan.updates:
                    await self._update(self.live[bid_id], group)
                for bid_id in plan.revokes:
                    await self._revoke(self.live[bid_id])
            plan = plan_round(self.portfolio.groups(), self._live_bids())
            now = self.clock.now()
            for group in plan.submits:
                if bid_deadline(group.aggregate, self.settings.pricing) > now:
                    await self._submit(group)
            self.counters["bid_rounds"] += 1

    def _live_bids(self) -> list[LiveBid]:
        return [LiveBid(b.id, b.aggregate) for b in self.live.values()]

    def _save_bid(self, bid: BidRecord) -> None:
        with self.store.write() as tx:
            tx.save_bid(bid, self.clock.now())

    async def _submit(self, group: Group) -> None:
        bid_id = f"bid-{uuid.uuid4().hex[:16]}"
        offer = build_bid(
            group.aggregate,
            bid_id=bid_id,
            aggregator_id=self.settings.aggregator_id,
            pricing=self.settings.pricing,
            location_id=group.location_id,
        )
        bid = BidRecord(bid_id, "pending", 1, group.aggregate, offer, group.location_id)
        self._save_bid(bid)  # first, so that a retry after a lost answer reuses the idempotency key
        self.live[bid_id] = bid
        await self._confirm(bid)

    async def _confirm(self, bid: BidRecord) -> None:
        """Submit a pending bid (again: same idempotency key, same order)."""
        assert self.market is not None
        try:
            answer = await self.market.submit_sell(bid.bid, f"{bid.id}-v{bid.version}")
        except MarketRefused as exc:
            self._rejected(bid, exc.code)
            return
        bid.order_id = answer.order_id
        if answer.status == "rejected":
            self._rejected(bid, answer.reason or "rejected")
            return
        bid.state = "open"
        self._save_bid(bid)
        self.counters["bids_submitted"] += 1

    async def _update(self, bid: BidRecord, group: Group) -> None:
        assert self.market is not None
        assert bid.order_id is not None
        offer = build_bid(
            group.aggregate,
            bid_id=bid.id,
            aggregator_id=self.settings.aggregator_id,
            pricing=self.settings.pricing,
            location_id=group.location_id,
        )
        try:
            answer = await self.market.update_sell(bid.order_id, offer, f"{bid.id}-v{bid.version + 1}")
        except MarketRefused as exc:
            if exc.status == 409:
                self._lock(bid)
            else:  # refused for its content: withdraw it and bid the group anew
                await self._revoke(bid)
            return
        if answer.status == "rejected":
            await self._revoke(bid)
            return
        bid.aggregate, bid.bid, bid.version = group.aggregate, offer, bid.version + 1
        self._save_bid(bid)
        self.counters["bids_updated"] += 1

    async def _revoke(self, bid: BidRecord) -> bool:
        """Revoke a live bid; ``False`` when FMAR refused (the bid is then locked)."""
        assert self.market is not None
        if bid.order_id is None:  # FMAR may hold it although the answer was lost: learn its order id first
            await self._confirm(bid)
            if bid.state != "open":
                return True
        if bid.order_id is not None:
            try:
                await self.market.revoke(bid.order_id)
            except MarketRefused as exc:
                if exc.status != 404:  # 404: FMAR does not know it (any more): nothing to revoke
                    self._lock(bid)
                    return False
        bid.state = "revoked"
        self._save_bid(bid)
        self.live.pop(bid.id, None)
        self.counters["bids_revoked"] += 1
        return True

    def _lock(self, bid: BidRecord) -> None:
        bid.state = "locked"
        now = self.clock.now()
        with self.store.write() as tx:
            tx.save_bid(bid, now)
            for record in tx.offers(ids=bid.aggregate.member_ids):
                record.bid_id = bid.id
                tx.save_offer(record, now)
        self.live.pop(bid.id, None)
        for member_id in bid.aggregate.member_ids:
            self.drop(member_id)
        self.counters["bids_locked"] += 1

    def _rejected(self, bid: BidRecord, reason: str) -> None:
        bid.state, bid.reason = "rejected", reason
        pushes: list[Any] = []
        with self.store.write() as tx:
            tx.save_bid(bid, self.clock.now())
            self._reject_members(tx, bid.aggregate.member_ids, reason, pushes)
        self.live.pop(bid.id, None)
        self.counters["bids_rejected"] += 1
        self._push(pushes)

    # ----------------------------------------------------------------------------------------------- the pull
    async def market_pull(self) -> None:
        """Pull FMAR's schedules and rejections, deliver them to the members, ack them on the next pull.

        Raises:
            MarketUnavailable: FMAR did not answer; the acks are sent with the next pull.
        """
        if self.market is None:
            return
        async with self.lock:
            sent = list(self._acks)
            batch = await self.market.pull_schedules(sent)
            self._acks = [a for a in self._acks if a not in sent]
            for schedule in batch.schedules:
                self._on_schedule(schedule)
                self._acks.append(schedule.order_id)
            for rejection in batch.rejected:
                self._on_rejection(rejection)
                self._acks.append(rejection.order_id)
            self.counters["market_pulls"] += 1

    def _on_schedule(self, item: MarketSchedule) -> None:
        with self.store.read() as tx:
            bid = tx.bid_by_order(item.order_id)
        if bid is None:
            self.counters["schedules_unknown_order"] += 1
            log.warning("FMAR sent a schedule for unknown order %s", item.order_id)
            return
        if bid.state in ("scheduled", "rejected", "failed"):
            return  # delivered before; the ack was lost
        if bid.state == "revoked":  # FMAR confirmed the revocation; its members may be in another bid now
            self.counters["schedules_for_revoked_bids"] += 1
            log.error("FMAR sent a schedule for revoked bid %s (order %s); ignored", bid.id, item.order_id)
            return
        try:
            parts = disaggregate(bid.aggregate, item.schedule)
        except (InvalidAggregateSchedule, NoValidDisaggregation) as exc:
            self.counters["disaggregation_failed"] += 1
            log.error("bid %s: schedule from FMAR cannot be disaggregated: %s", bid.id, exc)
            bid.state = "failed"
            self._rejected(bid, "disaggregation_failed")
            bid.state = "failed"
            self._save_bid(bid)
            return
        payment = market_payment_eur(bid.bid, item.schedule)
        members = {m.id: m for m in bid.aggregate.members}
        flex = {i: scheduled_flex_kwh(members[i], s) for i, s in parts.schedules.items()}
        shares = payment_shares(payment, flex)
        now = self.clock.now()
        pushes: list[Any] = []
        with self.store.write() as tx:
            for record in tx.offers(ids=list(parts.schedules)):
                self.drop(record.id)
                if record.state != ACCEPTED:  # withdrawn or expired meanwhile
                    self.counters["schedules_after_deadline"] += 1
                    continue
                record.state, record.reason, record.bid_id = FlexOfferState.ASSIGNED.value, None, bid.id
                record.schedule = parts.schedules[record.id]
                record.scheduled_flex_kwh, record.payment_share_eur = flex[record.id], shares[record.id]
                tx.save_offer(record, now)
                self._deliver(tx, record, record.schedule, None, pushes)
            bid.state, bid.schedule, bid.payment_eur = "scheduled", item.schedule, payment
            tx.save_bid(bid, now)
        self.live.pop(bid.id, None)
        self.counters["bids_scheduled"] += 1
        self.counters["members_assigned"] += len(parts.schedules)
        self._push(pushes)

    # ------------------------------------------------------------------------------------------------ settlement
    async def settle_round(self) -> None:
        """Forward the metering of scheduled bids to FMAR and store its settlement (see :mod:`.settlement_forwarding`).

        Raises:
            MarketUnavailable: FMAR did not answer; the bid is forwarded again at the next round.
        """
        if self.market is None:
            return
        async with self.lock:
            await self.settlement.round()

    def _on_rejection(self, item: MarketRejection) -> None:
        with self.store.read() as tx:
            bid = tx.bid_by_order(item.order_id)
        if bid is None:
            self.counters["rejections_unknown_order"] += 1
            return
        if bid.state in ("scheduled", "rejected", "failed", "revoked"):
            return
        self._rejected(bid, item.reason)
