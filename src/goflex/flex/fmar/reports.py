"""Read-side of the market: orders, the order book, trades, contracts, pulled schedules, settlements, stats.

Functions over a :class:`~goflex.flex.fmar.market.Market`; each returns the JSON-ready answer of one route.
Visibility (trading contract): an order is seen by its owner and the operator (others get the same 404 as for a
missing order); the book and the trade history are public to participants, with owners only for the operator;
contracts and settlements are seen by their parties.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from goflex.flex.fmar import views
from goflex.flex.fmar.errors import Refused
from goflex.flex.fmar.lifecycle import Side
from goflex.flex.fmar.market import Market
from goflex.flex.fmar.repository import Participant
from goflex.flex.fmar.terms import slot_of, slot_start


def _operator(participant: Participant) -> bool:
    return "operator" in participant.roles


def order(market: Market, participant: Participant, order_id: str) -> dict[str, Any]:
    """``GET /orders/{id}``: status, events and the side's fields (owner or operator).

    Raises:
        Refused: 404 ``not_found`` (also when the order belongs to someone else).
    """
    repo = market.repository
    with repo.transaction() as conn:
        row = repo.order(conn, order_id)
        if row is None or (row.participant_id != participant.id and not _operator(participant)):
            raise Refused(404, "not_found", f"orderId: no order {order_id!r} of yours")
        events = repo.events(conn, order_id)
        contracts = repo.contracts(conn, order_ids=[order_id])
    out: dict[str, Any] = {
        "orderId": row.id,
        "side": row.side,
        "participantId": row.participant_id,
        "status": row.status,
        "reason": row.reason,
        "message": row.message,
        "createdAt": views.iso(row.created_at),
        "events": [{"time": views.iso(e["time"]), "status": e["status"], "reason": e["reason"]} for e in events],
        "contractIds": [c.id for c in contracts],
    }
    if row.side == Side.SELL:
        out |= {
            "flexOfferId": row.flex_offer_id,
            "flexOffer": row.body.get("flexOffer"),
            "startTime": None if row.start_slot is None else views.iso(slot_start(row.start_slot)),
            "flexOfferSchedule": row.schedule,
        }
        return out
    slots = {slot_of(datetime.fromisoformat(s["start"])): float(s["energyKwh"]) for s in row.body["slots"]}
    left = views.remaining_per_slot(slots, contracts)
    out |= {
        "direction": row.body["direction"],
        "locationId": row.body.get("locationId"),
        "maxPriceEurPerKwh": row.body["maxPriceEurPerKwh"],
        "allowPartial": row.body.get("allowPartial", True),
        "slots": [
            {"start": views.iso(slot_start(t)), "energyKwh": e, "remainingKwh": left[t]} for t, e in slots.items()
        ],
        "remainingKwh": [{"start": views.iso(slot_start(t)), "energyKwh": left[t]} for t in slots],
    }
    return out


def orderbook(market: Market, participant: Participant) -> dict[str, Any]:
    """``GET /orderbook``: the open bids and buy orders (owners only for the operator)."""
    owners = _operator(participant)
    with market.lock:
        bids = sorted(market.book.bids.values(), key=lambda b: b.priority)
        buys = sorted(market.book.buys.values(), key=lambda b: b.priority)
        return {
            "sell": [views.bid_summary(b, with_owner=owners) for b in bids],
            "buy": [views.buy_summary(b, with_owner=owners) for b in buys],
        }


def trades(market: Market, participant: Participant, since: datetime | None) -> dict[str, Any]:
    """``GET /trades?since=``: the public trade history (parties' ids only for the operator)."""
    with market.repository.transaction() as conn:
        rows = market.repository.contracts(conn, since=since)
    return {"trades": [views.trade(r, parties=_operator(participant)) for r in rows]}


def contracts(market: Market, participant: Participant) -> dict[str, Any]:
    """``GET /contracts``: the caller's contracts with both parties' ids (every contract for the operator)."""
    with market.repository.transaction() as conn:
        if _operator(participant):
            rows = market.repository.contracts(conn)
        else:
            rows = market.repository.contracts(conn, participant_id=participant.id)
    return {"contracts": [views.trade(r, parties=True) for r in rows]}


def schedules(market: Market, participant: Participant, ack: list[str]) -> dict[str, Any]:
    """``GET /schedules?ack=``: the seller's schedules and rejections not yet acknowledged (its heartbeat)."""
    now = market.clock.now()
    with market.repository.transaction(write=bool(ack)) as conn:
        market.repository.ack_deliveries(conn, participant.id, ack, now)
        pending = market.repository.pending_deliveries(conn, participant.id)
    return {
        "schedules": [p for kind, p in pending if kind == "schedule"],
        "rejected": [p for kind, p in pending if kind == "rejected"],
        "serverTime": views.iso(now),
    }


def settlements(market: Market, participant: Participant, order_id: str | None) -> dict[str, Any]:
    """``GET /settlements?orderId=``: settlements of the caller's bids, or of bids it bought from."""
    repo = market.repository
    with repo.transaction() as conn:
        if _operator(participant):
            results = repo.settlements(conn, None if order_id is None else [order_id])
        else:
            mine = set(repo.order_ids_of(conn, participant.id))
            bought = {c.sell_order_id for c in repo.contracts(conn, participant_id=participant.id)}
            visible = (mine | bought) if order_id is None else ({order_id} & (mine | bought))
            results = repo.settlements(conn, sorted(visible))
    return {"settlements": results}


def stats(market: Market) -> dict[str, Any]:
    """``GET /stats``: counters of rejected orders (by reason) and refused requests (by code), book size."""
    with market.lock:
        return {
            "rejectedOrders": dict(market.rejected),
            "refusedRequests": dict(market.refused),
            "openBids": len(market.book.bids),
            "openBuyOrders": len(market.book.buys),
        }
