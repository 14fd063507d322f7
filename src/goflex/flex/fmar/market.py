"""The market service: orders in, contracts and schedules out, every change stored (trading contract, FMAR).

:class:`Market` joins the pure core (terms, lifecycle, the :class:`~goflex.flex.fmar.book.OrderBook`, settlement)
with the repository. Every change runs under one lock and one database transaction: the order, its events, its
contracts and the idempotency record are committed together, and when the transaction fails the book is rebuilt
from the database, so memory never holds what the database does not. Pushes to sellers' callback URLs are handed
to ``notify`` after the commit (best effort; pull through ``/schedules`` is the truth).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher

from goflex.common.clock import Clock
from goflex.flex.errors import InvalidFlexOffer
from goflex.flex.fmar.book import BidEntry, BuyEntry, ContractDraft, OrderBook
from goflex.flex.fmar.errors import IllegalTransition, OrderRefused, Refused
from goflex.flex.fmar.lifecycle import OrderStatus, Reason, Side, transition
from goflex.flex.fmar.repository import MarketRepository, OrderRow, Participant
from goflex.flex.fmar.terms import BidTerms, BuyTerms, Direction, bid_terms, buy_terms, first_open_slot, slot_of
from goflex.flex.fmar.terms import slot_start as slot_start_of
from goflex.flex.fmar.tokens import TokenVerifier, issue
from goflex.flex.fmar.views import iso
from goflex.flex.json_codec import dump_schedule, parse_offer
from goflex.flex.validation import validate_schedule
from goflex.store.errors import Conflict

log = logging.getLogger(__name__)

ROLES = frozenset({"buyer", "seller", "operator"})
Notify = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class MarketSettings:
    """Rules and limits of the market.

    Attributes:
        gate_closure_s: no order, update or match for a slot starting before now + this [s] (default 15 min).
        max_abs_price_eur_per_kwh: largest price magnitude accepted [EUR/kWh].
        imbalance_cutoff_kwh: imbalance free of fee [kWh] (GOFLEX: 1 kWh).
        imbalance_fee_eur_per_kwh: fee per kWh of imbalance above the cut-off [EUR/kWh].
        deadline_poll_s: longest wait of the deadline task between checks [s of the market clock].
        push_timeout_s: timeout of one push to a callback URL [s].
        token_cache_s: how long a verified token is remembered [s].
        locations: known grid locations; empty = any location is known.
    """

    gate_closure_s: float = 900.0
    max_abs_price_eur_per_kwh: float = 10.0
    imbalance_cutoff_kwh: float = 1.0
    imbalance_fee_eur_per_kwh: float = 0.1
    deadline_poll_s: float = 5.0
    push_timeout_s: float = 2.0
    token_cache_s: float = 60.0
    locations: frozenset[str] = field(default_factory=frozenset)


def request_hash(body: object) -> str:
    """SHA-256 of the canonical JSON of a request body (idempotency: same key + other body = 409)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


class Market:
    """The Flexibility Market over one repository (see the module docstring).

    Args:
        repository: the market's tables.
        clock: the market's time.
        settings: rules and limits.
        hasher: argon2 parameters for tokens (tests pass cheap ones).
        notify: called after a commit with (callback URL, payload) for each push; ``None`` = no push.
    """

    def __init__(
        self,
        repository: MarketRepository,
        clock: Clock,
        settings: MarketSettings | None = None,
        *,
        hasher: PasswordHasher | None = None,
        notify: Notify | None = None,
    ) -> None:
        self.repository = repository
        self.clock = clock
        self.settings = settings or MarketSettings()
        self.notify = notify
        self._hasher = hasher or PasswordHasher()
        self.lock = threading.RLock()
        self.book = OrderBook()
        self.rejected: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self._pushes: list[tuple[str, dict[str, Any]]] = []
        self._verifier = TokenVerifier(
            self._credentials, hasher=self._hasher, clock=clock, cache_s=self.settings.token_cache_s
        )

    # ------------------------------------------------------------------------------------------ participants
    def _credentials(self, token_id: str) -> tuple[str, str] | None:
        with self.repository.transaction() as conn:
            return self.repository.credentials(conn, token_id)

    def add_participant(
        self,
        participant_id: str,
        roles: Sequence[str],
        *,
        name: str | None = None,
        locations: Sequence[str] = (),
        callback_url: str | None = None,
    ) -> str:
        """Register a participant and return its token (shown once, stored hashed).

        Raises:
            Refused: 422 ``invalid_participant`` for an empty id or unknown role; 409 ``participant_exists``.
        """
        if not participant_id or len(participant_id) > 128:
            raise Refused(422, "invalid_participant", "id: must hold 1 to 128 characters")
        unknown = sorted(set(roles) - ROLES)
        if not roles or unknown:
            raise Refused(422, "invalid_participant", f"roles: must be among {sorted(ROLES)} (got {unknown or 'none'})")
        participant = Participant(
            participant_id, name or participant_id, frozenset(roles), tuple(locations), callback_url
        )
        token = issue(self._hasher)
        try:
            with self.repository.transaction(write=True) as conn:
                self.repository.add_participant(
                    conn, participant, token_id=token.token_id, token_hash=token.token_hash, now=self.clock.now()
                )
        except Conflict:
            raise Refused(409, "participant_exists", f"id: participant {participant_id!r} exists") from None
        return token.token

    def ensure_operator(self, token_file: Path, operator_id: str = "operator") -> bool:
        """With no participant at all, create an operator and write its token to ``token_file`` (mode 0600).

        Returns:
            Whether an operator was created.
        """
        with self.repository.transaction() as conn:
            if self.repository.participant_count(conn):
                return False
        token = self.add_participant(operator_id, ["operator"], name="market operator")
        token_file.parent.mkdir(parents=True, exist_ok=True)
        with token_file.open("w", encoding="utf-8") as fd:
            token_file.chmod(0o600)
            fd.write(token + "\n")
        log.info("created participant %r (operator); its token is in %s", operator_id, token_file)
        return True

    def authenticate(self, token: str) -> Participant | None:
        """The participant a bearer token belongs to, or ``None``."""
        participant_id = self._verifier.verify(token)
        if participant_id is None:
            return None
        with self.repository.transaction() as conn:
            return self.repository.participant(conn, participant_id)

    # --------------------------------------------------------------------------------------------- the book
    def load(self) -> None:
        """Rebuild the order book from the database (at start, or after a failed transaction)."""
        with self.lock, self.repository.transaction() as conn:
            self.book = OrderBook()
            self.book.note_priority(self.repository.max_priority(conn))
            open_orders = self.repository.orders_with_status(
                conn, [s.value for s in (OrderStatus.ACCEPTED, OrderStatus.UPDATED, OrderStatus.MATCHED)]
            )
            contracts = self.repository.contracts(conn, order_ids=[o.id for o in open_orders]) if open_orders else []
            first = first_open_slot(self.clock.now(), self.settings.gate_closure_s)
            for row in open_orders:
                if row.side == Side.SELL:
                    self._load_bid(row, [c for c in contracts if c.sell_order_id == row.id])
                else:
                    self._load_buy(row, [c for c in contracts if c.buy_order_id == row.id], first)
        log.info("order book: %d bids, %d buy orders", len(self.book.bids), len(self.book.buys))

    def _load_bid(self, row: OrderRow, contracts: Sequence[Any]) -> None:
        terms = self.bid_terms_of(row.body["flexOffer"])
        entry = BidEntry(row.id, row.participant_id, terms, row.location_id, row.priority, row.start_slot)
        for c in contracts:
            done = entry.committed.get(c.slice_index)
            entry.committed[c.slice_index] = (Direction(c.direction), c.energy_kwh + (done[1] if done else 0.0))
        self.book.bids[row.id] = entry

    def _load_buy(self, row: OrderRow, contracts: Sequence[Any], first: int) -> None:
        terms = self._buy_terms(row.body)
        left = dict(terms.slots)
        for c in contracts:
            t = slot_of(c.slot_start)
            left[t] = max(0.0, left.get(t, 0.0) - c.energy_kwh)
        entry = BuyEntry(row.id, row.participant_id, terms, row.priority, left)
        if not entry.filled and any(t >= first for t, r in left.items() if r > 0):
            self.book.buys[row.id] = entry

    def bid_terms_of(self, raw: object) -> BidTerms:
        try:
            offer = parse_offer(raw)
        except InvalidFlexOffer as exc:
            raise OrderRefused(Reason.INVALID_OFFER.value, f"flexOffer.{exc.field}", exc.rule) from None
        return bid_terms(offer, max_abs_price=self.settings.max_abs_price_eur_per_kwh)

    def _buy_terms(self, body: dict[str, Any]) -> BuyTerms:
        slots = [(datetime.fromisoformat(s["start"]), float(s["energyKwh"])) for s in body["slots"]]
        return buy_terms(
            body["direction"],
            body.get("locationId"),
            float(body["maxPriceEurPerKwh"]),
            slots,
            bool(body.get("allowPartial", True)),
            max_abs_price=self.settings.max_abs_price_eur_per_kwh,
        )

    def run_locked(self, work: Callable[[sa.Connection, datetime], Any]) -> Any:
        """Run ``work`` under the lock in one write transaction; rebuild the book if it fails; push after."""
        with self.lock:
            self._pushes = []
            try:
                with self.repository.transaction(write=True) as conn:
                    result = work(conn, self.clock.now())
            except Refused:
                raise  # raised before any change to the book
            except BaseException:
                self.load()
                raise
            pushes, self._pushes = self._pushes, []
        if self.notify is not None:
            for url, payload in pushes:
                self.notify(url, payload)
        return result

    def idempotent(
        self,
        participant: Participant,
        key: str | None,
        body: object,
        work: Callable[[sa.Connection, datetime], dict[str, Any]],
    ) -> tuple[int, dict[str, Any]]:
        """Run a creating request once per idempotency key (trading contract).

        Returns:
            (HTTP status, response): 201 the first time, 200 with the same response for the same key and body.

        Raises:
            Refused: 400 ``missing_idempotency_key``; 409 ``idempotency_key_reused`` for the same key with
                another body.
        """
        if not key:
            raise Refused(400, "missing_idempotency_key", "Idempotency-Key: header required on this POST")
        digest = request_hash(body)

        def run(conn: sa.Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            stored = self.repository.idempotent_response(conn, participant.id, key)
            if stored is not None:
                if stored[0] != digest:
                    raise Refused(409, "idempotency_key_reused", "Idempotency-Key: already used with another body")
                return 200, stored[2]
            response = work(conn, now)
            self.repository.store_response(
                conn, participant.id, key, request_hash=digest, status_code=201, response=response, now=now
            )
            return 201, response

        result: tuple[int, dict[str, Any]] = self.run_locked(run)
        return result

    # ----------------------------------------------------------------------------------------------- orders
    def _check_location(self, participant: Participant, location_id: str | None) -> None:
        if self.settings.locations and location_id is not None and location_id not in self.settings.locations:
            raise OrderRefused(Reason.UNKNOWN_LOCATION.value, "locationId", f"unknown grid location {location_id!r}")
        if participant.locations and location_id not in participant.locations:
            raise OrderRefused(
                Reason.NOT_AUTHORISED.value, "locationId", "the participant may only trade at its own locations"
            )

    def _check_bid(self, participant: Participant, raw: object, now: datetime) -> BidTerms:
        terms = self.bid_terms_of(raw)
        self._check_location(participant, terms.offer.location_id)
        if terms.deadline <= now:
            raise OrderRefused(Reason.DEADLINE_PASSED.value, "flexOffer.assignmentBeforeTime", "has passed")
        if terms.lst_slot < first_open_slot(now, self.settings.gate_closure_s):
            raise OrderRefused(
                Reason.GATE_CLOSED.value, "flexOffer.startBeforeTime", "every start lies before gate closure"
            )
        return terms

    def _reject(self, conn: sa.Connection, row: OrderRow, refused: OrderRefused, now: datetime) -> dict[str, Any]:
        self.rejected[refused.reason] += 1
        rejected = _with(row, OrderStatus.REJECTED, refused.reason, str(refused))
        self.repository.insert_order(conn, rejected, now=now)
        return _answer(rejected)

    def submit_sell(
        self, participant: Participant, body: dict[str, Any], key: str | None
    ) -> tuple[int, dict[str, Any]]:
        """``POST /orders/sell``: a bid (FlexOffer) from a seller."""
        raw = body.get("flexOffer")

        def work(conn: sa.Connection, now: datetime) -> dict[str, Any]:
            offer_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
            row = OrderRow(
                _new_id("sell"),
                Side.SELL.value,
                participant.id,
                OrderStatus.ACCEPTED.value,
                Reason.ACCEPTED.value,
                "accepted",
                offer_id,
                None,
                {"flexOffer": raw},
                self.book.next_priority(),
                None,
                None,
                None,
                now,
            )
            try:
                terms = self._check_bid(participant, raw, now)
            except OrderRefused as refused:
                return self._reject(conn, row, refused, now)
            row = _with(
                row,
                OrderStatus.ACCEPTED,
                Reason.ACCEPTED.value,
                "accepted",
                location_id=terms.offer.location_id,
                deadline=terms.deadline,
            )
            self.repository.insert_order(conn, row, now=now)
            self.book.bids[row.id] = BidEntry(row.id, participant.id, terms, terms.offer.location_id, row.priority)
            self._record(conn, self.book.match_bid(row.id, first_slot=self._first(now), now=now), now)
            return _answer(row)

        return self.idempotent(participant, key, body, work)

    def update_sell(self, participant: Participant, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PUT /orders/sell/{id}``: replace a bid that has not matched yet.

        Raises:
            Refused: 404 ``not_found``; 409 ``not_updatable`` once matched or closed; 422 with the reason code
                (``invalid_offer``, ``gate_closed`` ...) when the new offer is refused (the old bid stays).
        """

        def work(conn: sa.Connection, now: datetime) -> dict[str, Any]:
            row = self._own_order(conn, participant, order_id, Side.SELL)
            try:
                transition(OrderStatus(row.status), OrderStatus.UPDATED, Side.SELL)
            except IllegalTransition as exc:
                raise Refused(409, exc.code, f"orderId: a bid in status {row.status!r} cannot be updated") from None
            try:
                terms = self._check_bid(participant, body.get("flexOffer"), now)
            except OrderRefused as refused:
                self.rejected[refused.reason] += 1
                raise Refused(422, refused.reason, str(refused)) from None
            priority = self.book.next_priority()
            self.repository.set_status(
                conn,
                order_id,
                OrderStatus.UPDATED.value,
                Reason.UPDATED.value,
                now,
                body={"flexOffer": body["flexOffer"]},
                flex_offer_id=terms.offer.id,
                location_id=terms.offer.location_id,
                deadline=terms.deadline,
                priority=priority,
                message="updated",
            )
            self.book.bids[order_id] = BidEntry(order_id, participant.id, terms, terms.offer.location_id, priority)
            self._record(conn, self.book.match_bid(order_id, first_slot=self._first(now), now=now), now)
            return {
                "orderId": order_id,
                "status": OrderStatus.UPDATED.value,
                "reason": Reason.UPDATED.value,
                "message": "updated",
            }

        result: dict[str, Any] = self.run_locked(work)
        return result

    def submit_buy(self, participant: Participant, body: dict[str, Any], key: str | None) -> tuple[int, dict[str, Any]]:
        """``POST /orders/buy``: a buy order from a buyer (``body`` already has the contract's shape)."""

        def work(conn: sa.Connection, now: datetime) -> dict[str, Any]:
            row = OrderRow(
                _new_id("buy"),
                Side.BUY.value,
                participant.id,
                OrderStatus.ACCEPTED.value,
                Reason.ACCEPTED.value,
                "accepted",
                None,
                body.get("locationId"),
                body,
                self.book.next_priority(),
                None,
                None,
                None,
                now,
            )
            try:
                terms = self._buy_terms(body)
                self._check_location(participant, terms.location_id)
                first = self._first(now)
                early = [t for t in terms.slots if t < first]
                if early:
                    raise OrderRefused(
                        Reason.GATE_CLOSED.value,
                        "slots",
                        f"slot {iso(slot_start_of(min(early)))} starts before gate closure",
                    )
            except OrderRefused as refused:
                return self._reject(conn, row, refused, now)
            self.repository.insert_order(conn, row, now=now)
            self.book.buys[row.id] = BuyEntry(row.id, participant.id, terms, row.priority, dict(terms.slots))
            self._record(conn, self.book.match_buy(row.id, first_slot=first, now=now), now)
            return _answer(row)

        return self.idempotent(participant, key, body, work)

    def revoke(self, participant: Participant, order_id: str) -> dict[str, Any]:
        """``DELETE /orders/{id}``: revoke an order that has not matched.

        Raises:
            Refused: 404 ``not_found``; 409 ``not_revocable`` once matched, scheduled or closed.
        """

        def work(conn: sa.Connection, now: datetime) -> dict[str, Any]:
            row = self._own_order(conn, participant, order_id, None)
            try:
                transition(OrderStatus(row.status), OrderStatus.REVOKED, Side(row.side))
            except IllegalTransition as exc:
                raise Refused(409, exc.code, f"orderId: an order in status {row.status!r} cannot be revoked") from None
            self.repository.set_status(conn, order_id, OrderStatus.REVOKED.value, Reason.REVOKED.value, now)
            self.book.remove(order_id)
            return {"orderId": order_id, "status": OrderStatus.REVOKED.value}

        result: dict[str, Any] = self.run_locked(work)
        return result

    def _own_order(self, conn: sa.Connection, participant: Participant, order_id: str, side: Side | None) -> OrderRow:
        row = self.repository.order(conn, order_id)
        if row is None or row.participant_id != participant.id or (side is not None and row.side != side):
            raise Refused(404, "not_found", f"orderId: no order {order_id!r} of yours")
        return row

    def _first(self, now: datetime) -> int:
        return first_open_slot(now, self.settings.gate_closure_s)

    # ------------------------------------------------------------------------------- contracts and schedules
    def _record(self, conn: sa.Connection, drafts: Sequence[ContractDraft], now: datetime) -> None:
        """Store contracts, move their orders to ``matched``, and fix the schedules of bids fully used."""
        if not drafts:
            return
        self.repository.insert_contracts(conn, [_contract_row(d, now) for d in drafts])
        for bid_id in dict.fromkeys(d.sell_order_id for d in drafts):
            start = next(d.start_slot for d in drafts if d.sell_order_id == bid_id)
            self.step(conn, bid_id, OrderStatus.MATCHED, Reason.MATCHED, now, start_slot=start)
        for buy_id in dict.fromkeys(d.buy_order_id for d in drafts):
            filled = self.book.buys[buy_id].filled
            self.step(conn, buy_id, OrderStatus.MATCHED, Reason.FULLY_MATCHED if filled else Reason.MATCHED, now)
            if filled:
                self.book.remove(buy_id)
        for bid_id in dict.fromkeys(d.sell_order_id for d in drafts):
            if self.book.exhausted(bid_id):
                self._fix_schedule(conn, bid_id, Reason.FULLY_USED, now)

    def step(
        self, conn: sa.Connection, order_id: str, wanted: OrderStatus, reason: Reason, now: datetime, **values: Any
    ) -> None:
        row = self.repository.order(conn, order_id)
        assert row is not None
        transition(OrderStatus(row.status), wanted, Side(row.side))
        self.repository.set_status(conn, order_id, wanted.value, reason.value, now, **values)

    def _fix_schedule(self, conn: sa.Connection, bid_id: str, reason: Reason, now: datetime) -> None:
        entry = self.book.bids[bid_id]
        schedule = self.book.schedule(bid_id)
        problems = validate_schedule(entry.terms.offer, schedule)
        if problems:  # the matcher's TEC room rules this out; never send an invalid schedule
            raise RuntimeError(f"{bid_id}: invalid schedule {problems[0].field}: {problems[0].rule}")
        wire = dump_schedule(schedule)
        self.step(conn, bid_id, OrderStatus.SCHEDULED, reason, now, schedule=wire)
        contract_ids = [c.id for c in self.repository.contracts(conn, order_ids=[bid_id])]
        payload = {"orderId": bid_id, "flexOfferId": entry.terms.offer.id, "flexOfferSchedule": wire}
        self.repository.add_delivery(
            conn,
            bid_id,
            entry.participant_id,
            kind="schedule",
            payload={**payload, "contractIds": contract_ids},
            now=now,
        )
        self.book.remove(bid_id)
        self._queue_push(conn, entry.participant_id, payload)

    def _reject_at_deadline(self, conn: sa.Connection, bid_id: str, now: datetime) -> None:
        entry = self.book.bids[bid_id]
        self.step(conn, bid_id, OrderStatus.REJECTED, Reason.UNMATCHED_AT_DEADLINE, now)
        payload = {"orderId": bid_id, "flexOfferId": entry.terms.offer.id, "reason": Reason.UNMATCHED_AT_DEADLINE.value}
        self.repository.add_delivery(conn, bid_id, entry.participant_id, kind="rejected", payload=payload, now=now)
        self.book.remove(bid_id)
        push = {"orderId": bid_id, "flexOfferId": entry.terms.offer.id, "rejected": Reason.UNMATCHED_AT_DEADLINE.value}
        self._queue_push(conn, entry.participant_id, push)

    def _queue_push(self, conn: sa.Connection, seller_id: str, payload: dict[str, Any]) -> None:
        seller = self.repository.participant(conn, seller_id)
        if seller is not None and seller.callback_url:
            self._pushes.append((seller.callback_url.rstrip("/") + "/schedules", payload))

    def process_deadlines(self) -> int:
        """Fix the schedules of matched bids past their deadline, reject unmatched ones, close past buy orders.

        Returns:
            How many orders changed.
        """

        def work(conn: sa.Connection, now: datetime) -> int:
            changed = 0
            for bid_id in self.book.due_bids(now):
                if self.book.bids[bid_id].start_slot is None:
                    self._reject_at_deadline(conn, bid_id, now)
                else:
                    self._fix_schedule(conn, bid_id, Reason.SCHEDULED_AT_DEADLINE, now)
                changed += 1
            for buy_id in self.book.closed_buys(self._first(now)):
                row = self.repository.order(conn, buy_id)
                if row is not None and row.status == OrderStatus.ACCEPTED:
                    self.step(conn, buy_id, OrderStatus.EXPIRED, Reason.GATE_CLOSED_UNMATCHED, now)
                self.book.remove(buy_id)
                changed += 1
            return changed

        with self.lock:
            if not self.book.due_bids(self.clock.now()) and not self.book.closed_buys(self._first(self.clock.now())):
                return 0
        result: int = self.run_locked(work)
        return result

    def next_deadline(self) -> datetime | None:
        """The earliest assignment deadline of an open bid."""
        with self.lock:
            return min((b.terms.deadline for b in self.book.bids.values()), default=None)


def _with(row: OrderRow, status: OrderStatus, reason: str, message: str, **values: Any) -> OrderRow:
    fields = {name: getattr(row, name) for name in OrderRow.__slots__}
    fields.update(status=status.value, reason=reason, message=message, **values)
    return OrderRow(**fields)


def _answer(row: OrderRow) -> dict[str, Any]:
    return {"orderId": row.id, "status": row.status, "reason": row.reason, "message": row.message}


def _contract_row(d: ContractDraft, now: datetime) -> dict[str, Any]:
    return {
        "id": _new_id("c"),
        "time": now,
        "buy_order_id": d.buy_order_id,
        "sell_order_id": d.sell_order_id,
        "buyer_id": d.buyer_id,
        "seller_id": d.seller_id,
        "slot_start": slot_start_of(d.slot),
        "direction": d.direction.value,
        "energy_kwh": d.energy_kwh,
        "price_eur_per_kwh": d.price,
        "slice_index": d.slice_index,
        "start_slot": d.start_slot,
    }
