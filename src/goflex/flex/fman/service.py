"""The FMAN service behind the HTTP API: agents' offers, heartbeats, metering and accounts (trading contract).

Requests arrive on the event loop; database work is short and synchronous, so in-memory state (the portfolio,
the live bids) changes only between awaits. What needs FMAR (a withdrawal or replacement of an offer in a live
bid) runs under the trader's lock. Every refused input is counted by reason (``GET /stats``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from goflex.common.clock import Clock
from goflex.flex.aggregation import interval_bounds
from goflex.flex.errors import InvalidFlexOffer
from goflex.flex.fman import accounting
from goflex.flex.fman.bids import bid_deadline
from goflex.flex.fman.credentials import TokenVerifier, principal_of
from goflex.flex.fman.errors import RequestRefused
from goflex.flex.fman.market_client import MarketClient
from goflex.flex.fman.push import Pusher
from goflex.flex.fman.repository import AgentRecord, FmanStore, OfferRecord, Tx
from goflex.flex.fman.sale import for_sale, sale_refusal
from goflex.flex.fman.settings import FmanSettings
from goflex.flex.fman.trading import ACCEPTED, Trader
from goflex.flex.json_codec import dump_offer, dump_schedule, parse_offer
from goflex.flex.model import FlexOffer, FlexOfferState
from goflex.flex.validation import validate_offer

log = logging.getLogger(__name__)

AGENT, OPERATOR = "agent", "operator"


def request_digest(body: Any) -> str:
    """SHA-256 of a JSON body in canonical form (sorted keys), to recognise a repeated request."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class FlexibilityManager:
    """FMAN: what the routes call.

    Args:
        store: FMAN's tables (migrated).
        clock: the platform clock.
        settings: aggregation, pricing, remuneration, pacing.
        verifier: checks bearer tokens.
        market: FMAR's client (``None``: hold offers without trading).
        pusher: pushes deliveries to agents with a callback URL.
    """

    def __init__(
        self,
        store: FmanStore,
        clock: Clock,
        settings: FmanSettings,
        *,
        verifier: TokenVerifier,
        market: MarketClient | None = None,
        pusher: Pusher | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.verifier = verifier
        self.counters: Counter[str] = Counter()
        self.trader = Trader(store, clock, settings, market=market, pusher=pusher, counters=self.counters)

    def refuse(self, status: int, code: str, message: str) -> RequestRefused:
        """Count a refused request and build its error."""
        self.counters[f"refused_{code}"] += 1
        return RequestRefused(status, code, message)

    # ---------------------------------------------------------------------------------------------------- auth
    def principal(self, token: str) -> AgentRecord:
        """The principal a bearer token belongs to (the argon2 check may take tens of ms: call it in a thread).

        Raises:
            RequestRefused: 401 ``unauthorised``.
        """
        principal_id = principal_of(token)
        record = None
        if principal_id is not None:
            with self.store.read() as tx:
                record = tx.agent(principal_id)
        if record is None or not self.verifier.verify(token, record.token_hash):
            raise self.refuse(401, "unauthorised", "Authorization: unknown or invalid bearer token")
        return record

    # -------------------------------------------------------------------------------------------------- offers
    def _parse(self, body: Any) -> FlexOffer:
        try:
            return parse_offer(body)
        except InvalidFlexOffer as exc:
            raise self.refuse(422, "invalid_offer", str(exc)) from exc

    def _judge(self, agent: AgentRecord, offer: FlexOffer) -> tuple[str, str | None, str | None]:
        """``(state, reason, message)`` of a parsed offer from ``agent``."""
        if agent.prosumers and offer.offered_by_id not in agent.prosumers:
            raise self.refuse(403, "not_authorised", f"offeredById: agent {agent.id} does not represent it")
        problems = validate_offer(offer)
        if problems:
            return "rejected", "invalid_offer", f"{problems[0].field}: {problems[0].rule}"
        if interval_bounds(offer) is None:
            rule = "fixed-duration slices with one energy constraint are required (minDuration == maxDuration)"
            return "rejected", "unsupported_offer", f"flexOfferProfileConstraints: {rule}"
        refusal = sale_refusal(offer)
        if refusal is not None:
            return "rejected", *refusal
        now = self.clock.now()
        if offer.accept_before_time < now:
            return "rejected", "deadline_passed", "acceptBeforeTime: has passed"
        if offer.assignment_before_time - timedelta(seconds=self.settings.pricing.delivery_margin_s) <= now:
            rule = f"leaves less than the delivery margin ({self.settings.pricing.delivery_margin_s:g} s) to trade"
            return "rejected", "deadline_passed", f"assignmentBeforeTime: {rule}"
        return ACCEPTED, None, None

    def _answer(self, record: OfferRecord) -> dict[str, Any]:
        return {"id": record.id, "state": record.state, "reason": record.reason, "message": record.message}

    def submit_offer(self, agent: AgentRecord, body: Any, key: str | None) -> tuple[int, dict[str, Any]]:
        """``POST /flexoffers``: judge an offer; accepted ones join the portfolio.

        Returns:
            ``(status, answer)``: 201 the first time, 200 for a repeat with the same key and body.

        Raises:
            RequestRefused: 400 ``missing_idempotency_key``, 403 ``not_authorised``, 409 ``idempotency_key_reused``
                or ``duplicate_id``, 422 ``invalid_offer`` (not a FlexOffer at all).
        """
        if agent.role != AGENT:
            raise self.refuse(403, "not_authorised", "only agents submit FlexOffers")
        if not key:
            raise self.refuse(400, "missing_idempotency_key", "Idempotency-Key: header required on this POST")
        digest = request_digest(body)
        with self.store.write() as tx:
            prior = tx.idempotent(agent.id, key)
            if prior is not None:
                if prior[0] != digest:
                    raise self.refuse(409, "idempotency_key_reused", "Idempotency-Key: used before with another body")
                return 200, prior[2]
            offer = self._parse(body)
            if tx.offer(offer.id) is not None:
                raise self.refuse(409, "duplicate_id", f"id: {offer.id} is known; use PUT /flexoffers/{offer.id}")
            state, reason, message = self._judge(agent, offer)
            record = OfferRecord(offer.id, agent.id, offer.offered_by_id, state, offer, reason, message)
            if state == ACCEPTED:
                record.offered_kwh = accounting.offered_flex_kwh(for_sale(offer))
            now = self.clock.now()
            tx.insert_offer(record, now)
            answer = self._answer(record)
            tx.remember(agent.id, key, digest=digest, status=201, response=answer, now=now)
        if state == ACCEPTED:
            self.trader.admit(offer)
        self.counters[f"offers_{state}"] += 1
        if reason is not None:
            self.counters[f"rejected_{reason}"] += 1
        return 201, answer

    def _own(self, tx: Tx, agent: AgentRecord, offer_id: str) -> OfferRecord:
        record = tx.offer(offer_id)
        if record is None or (agent.role != OPERATOR and record.agent_id != agent.id):
            raise self.refuse(404, "unknown_offer", f"flexOffer {offer_id}: no such offer of this agent")
        return record

    async def replace_offer(self, agent: AgentRecord, offer_id: str, body: Any) -> dict[str, Any]:
        """``PUT /flexoffers/{id}``: replace an offer that is not assigned (its live bid is revoked first).

        Raises:
            RequestRefused: 404, 409 ``not_revocable`` (assigned, or its bid is matched), 422, 503.
        """
        offer = self._parse(body)
        if offer.id != offer_id:
            raise self.refuse(422, "invalid_offer", f"id: must equal the path's id {offer_id!r}")
        async with self.trader.lock:
            with self.store.read() as tx:
                record = self._own(tx, agent, offer_id)
            if record.state not in (ACCEPTED, FlexOfferState.REJECTED.value) or record.bid_id is not None:
                raise self.refuse(409, "not_revocable", f"flexOffer {offer_id} is {record.state}; it cannot change")
            if record.state == ACCEPTED:
                await self.trader.release(record)
            state, reason, message = self._judge(agent, offer)
            self.trader.drop(offer_id)
            record.offer, record.state, record.reason, record.message = offer, state, reason, message
            record.prosumer_id = offer.offered_by_id
            record.offered_kwh = accounting.offered_flex_kwh(for_sale(offer)) if state == ACCEPTED else 0.0
            with self.store.write() as tx:
                tx.save_offer(record, self.clock.now())
            if state == ACCEPTED:
                self.trader.admit(offer)
        self.counters["offers_replaced"] += 1
        return {"id": offer_id, "state": state, "reason": reason, "message": message}

    async def withdraw_offer(self, agent: AgentRecord, offer_id: str) -> dict[str, Any]:
        """``DELETE /flexoffers/{id}``: cancel an offer (its live bid is revoked; the rest is bid again).

        Raises:
            RequestRefused: 404, 409 ``not_revocable``, 503 ``market_unavailable``.
        """
        async with self.trader.lock:
            with self.store.read() as tx:
                record = self._own(tx, agent, offer_id)
            if record.state == FlexOfferState.CANCELED.value:
                return {"id": offer_id, "state": record.state}
            if record.state != ACCEPTED or record.bid_id is not None:
                raise self.refuse(409, "not_revocable", f"flexOffer {offer_id} is {record.state}; it cannot change")
            await self.trader.release(record)
            self.trader.drop(offer_id)
            record.state, record.reason = FlexOfferState.CANCELED.value, "withdrawn"
            with self.store.write() as tx:
                tx.save_offer(record, self.clock.now())
        self.counters["offers_withdrawn"] += 1
        return {"id": offer_id, "state": record.state}

    def get_offer(self, agent: AgentRecord, offer_id: str) -> dict[str, Any]:
        """``GET /flexoffers/{id}``: the offer with its current state and schedule."""
        with self.store.read() as tx:
            record = self._own(tx, agent, offer_id)
        document = dump_offer(record.offer)
        document["state"] = record.state
        if record.schedule is not None:
            document["flexOfferSchedule"] = dump_schedule(record.schedule)
        return {"id": record.id, "state": record.state, "reason": record.reason, "flexOffer": document}

    # ----------------------------------------------------------------------------------------------- heartbeat
    def heartbeat(self, agent: AgentRecord, state: str, power_w: float | None, ack: Sequence[str]) -> dict[str, Any]:
        """``POST /heartbeat``: take the acks, return every delivery the agent has not acked."""
        if agent.role != AGENT:
            raise self.refuse(403, "not_authorised", "only agents send heartbeats")
        now = self.clock.now()
        with self.store.write() as tx:
            tx.record_heartbeat(agent.id, state, power_w, now)
            tx.ack(agent.id, ack, now)
            pending = tx.pending_deliveries(agent.id)
        schedules = [
            {"flexOfferId": d.offer_id, "flexOfferSchedule": dump_schedule(d.schedule)}
            for d in pending
            if d.schedule is not None
        ]
        rejected = [{"flexOfferId": d.offer_id, "reason": d.reason} for d in pending if d.schedule is None]
        self.counters["heartbeats"] += 1
        return {"schedules": schedules, "rejected": rejected, "serverTime": _iso(now)}

    # ------------------------------------------------------------------------------------------------ metering
    def metering(
        self, agent: AgentRecord, offer_id: str, intervals: Sequence[tuple[datetime, float]]
    ) -> dict[str, Any]:
        """``POST /metering``: metered energy per interval of an assigned offer -> its execution record.

        Repeated intervals overwrite earlier values, so a repeat of the same report changes nothing.

        Raises:
            RequestRefused: 404, 409 ``not_assigned``, 422 ``invalid_metering`` naming the interval.
        """
        with self.store.write() as tx:
            record = self._own(tx, agent, offer_id)
            if record.schedule is None:
                raise self.refuse(409, "not_assigned", f"flexOfferId: {offer_id} has no schedule to meter against")
            step = record.offer.num_seconds_per_interval
            for i, (start, energy_kwh) in enumerate(intervals):
                k = accounting.interval_index(record.schedule, start, step)
                if k is None:
                    raise self.refuse(
                        422, "invalid_metering", f"intervals[{i}].start: not an interval of the offer's schedule"
                    )
                if not math.isfinite(energy_kwh):
                    raise self.refuse(422, "invalid_metering", f"intervals[{i}].energyKwh: must be finite")
                record.metered[k] = energy_kwh
            done = accounting.execution(record.offer, record.schedule, record.metered)
            record.delivered_flex_kwh = done.delivered_flex_kwh
            bid = tx.bid(record.bid_id) if record.bid_id is not None else None
            if bid is not None and bid.state == "settled":  # a late report: the market's payment is fixed
                record.remuneration_eur = accounting.settled_remuneration_eur(
                    self.settings.remuneration,
                    settled_share_eur=record.payment_share_eur,
                    delivered_flex=done.delivered_flex_kwh,
                )
            else:  # FMAN's estimate until FMAR settles the bid (Trader.settle_round)
                record.remuneration_eur = accounting.remuneration_eur(
                    self.settings.remuneration,
                    payment_share_eur=record.payment_share_eur,
                    scheduled_flex=record.scheduled_flex_kwh,
                    delivered_flex=done.delivered_flex_kwh,
                )
            if done.complete:
                record.state = FlexOfferState.EXECUTED.value
            tx.save_offer(record, self.clock.now())
        self.counters["metering_reports"] += 1
        return {
            "flexOfferId": offer_id,
            "state": record.state,
            "scheduledKwh": done.scheduled_kwh,
            "deliveredKwh": done.delivered_kwh,
            "deviationKwh": done.deviation_kwh,
            "deliveredFlexKwh": done.delivered_flex_kwh,
            "complete": done.complete,
        }

    # ------------------------------------------------------------------------------------------------ accounts
    def account(self, agent: AgentRecord, prosumer_id: str) -> dict[str, Any]:
        """``GET /accounts/{prosumerId}`` for the operator or an agent representing the prosumer."""
        with self.store.read() as tx:
            allowed = agent.role == OPERATOR or prosumer_id in agent.prosumers or tx.represents(agent.id, prosumer_id)
            if not allowed:
                raise self.refuse(403, "not_authorised", f"prosumerId: agent {agent.id} does not represent it")
            result = accounting.account(prosumer_id, tx.account_rows(prosumer_id))
        return {
            "prosumerId": result.prosumer_id,
            "offeredKwh": result.offered_kwh,
            "scheduledFlexKwh": result.scheduled_flex_kwh,
            "deliveredFlexKwh": result.delivered_flex_kwh,
            "remunerationEur": result.remuneration_eur,
        }

    def stats(self) -> dict[str, Any]:
        """Counters and the size of the portfolio."""
        groups = self.trader.portfolio.groups()
        return {
            "counters": dict(sorted(self.counters.items())),
            "portfolio": {
                "offers": len(self.trader.portfolio),
                "groups": len(groups),
                "liveBids": len(self.trader.live),
                "nextBidDeadlines": sorted(
                    _iso(bid_deadline(g.aggregate, self.settings.pricing)) for g in groups.values()
                )[:5],
            },
        }
