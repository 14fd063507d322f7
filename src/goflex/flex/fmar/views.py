"""Wire forms (JSON-ready dicts) of orders, the order book, contracts and settlements (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from goflex.flex.fmar.book import BidEntry, BuyEntry
from goflex.flex.fmar.settlement import Settlement
from goflex.flex.fmar.terms import slot_start


def iso(time: datetime) -> str:
    """ISO 8601 UTC with ``Z``."""
    return time.astimezone(UTC).isoformat().replace("+00:00", "Z")


def bid_summary(entry: BidEntry, *, with_owner: bool) -> dict[str, Any]:
    """An open bid in the order book: window, per-slice bounds, baseline and prices."""
    terms = entry.terms
    out: dict[str, Any] = {
        "orderId": entry.order_id,
        "flexOfferId": terms.offer.id,
        "locationId": entry.location_id,
        "startAfterTime": iso(terms.offer.start_after_time),
        "startBeforeTime": iso(terms.offer.start_before_time),
        "assignmentBeforeTime": iso(terms.deadline),
        "startTime": None if entry.start_slot is None else iso(slot_start(entry.start_slot)),
        "totalEnergyKwh": {"lower": terms.total_lower, "upper": terms.total_upper},
        "slices": [
            {
                "duration": s.duration,
                "lowerKwh": s.lower,
                "upperKwh": s.upper,
                "baselineKwh": s.base,
                "priceUpEurPerKwh": s.price_up,
                "priceDownEurPerKwh": s.price_down,
            }
            for s in terms.slices
        ],
    }
    if with_owner:
        out["participantId"] = entry.participant_id
    return out


def buy_summary(entry: BuyEntry, *, with_owner: bool) -> dict[str, Any]:
    """An open buy order in the order book, with what is left per slot."""
    out: dict[str, Any] = {
        "orderId": entry.order_id,
        "direction": entry.terms.direction.value,
        "locationId": entry.terms.location_id,
        "maxPriceEurPerKwh": entry.terms.max_price,
        "allowPartial": entry.terms.allow_partial,
        "slots": [
            {"start": iso(slot_start(t)), "energyKwh": e, "remainingKwh": entry.remaining.get(t, 0.0)}
            for t, e in sorted(entry.terms.slots.items())
        ],
    }
    if with_owner:
        out["participantId"] = entry.participant_id
    return out


def trade(row: Any, *, parties: bool) -> dict[str, Any]:
    """A contract as a trade (public) or a contract (``parties``: with buyer and seller ids)."""
    out: dict[str, Any] = {
        "contractId": row.id,
        "time": iso(row.time),
        "slotStart": iso(row.slot_start),
        "direction": row.direction,
        "energyKwh": row.energy_kwh,
        "priceEurPerKwh": row.price_eur_per_kwh,
        "buyOrderId": row.buy_order_id,
        "sellOrderId": row.sell_order_id,
    }
    if parties:
        out["buyerId"] = row.buyer_id
        out["sellerId"] = row.seller_id
    return out


def remaining_per_slot(slots: Mapping[int, float], contracts: Sequence[Any]) -> dict[int, float]:
    """A buy order's remaining energy per slot [kWh] after its contracts."""
    left = dict(slots)
    for c in contracts:
        t = int(c.slot_start.timestamp()) // 900
        if t in left:
            left[t] = max(0.0, left[t] - c.energy_kwh)
    return left


def settlement(order_id: str, result: Settlement) -> dict[str, Any]:
    """The settlement of a bid as the API returns and stores it."""
    return {
        "orderId": order_id,
        "status": "settled",
        "deliveredKwh": result.delivered_kwh,
        "scheduledDeviationKwh": result.scheduled_deviation_kwh,
        "deliveredDeviationKwh": result.delivered_deviation_kwh,
        "imbalanceKwh": result.imbalance_kwh,
        "paymentEur": result.payment_eur,
        "imbalanceFeeEur": result.imbalance_fee_eur,
        "contracts": [
            {"contractId": c.contract_id, "deliveredKwh": c.delivered_kwh, "paymentEur": c.payment_eur}
            for c in result.contracts
        ],
    }
