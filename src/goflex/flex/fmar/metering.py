"""``POST /metering``: settle a scheduled bid from metered energy (rules in :mod:`goflex.flex.fmar.settlement`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from goflex.flex.fmar import views
from goflex.flex.fmar.errors import Refused, SettlementRefused
from goflex.flex.fmar.lifecycle import OrderStatus, Reason, Side
from goflex.flex.fmar.market import Market
from goflex.flex.fmar.repository import Participant
from goflex.flex.fmar.settlement import ContractLine, settle
from goflex.flex.fmar.terms import Direction, slot_of
from goflex.flex.json_codec import parse_schedule


def metering(market: Market, participant: Participant, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /metering``: settle a scheduled bid from metered energy per slot (its seller or the operator).

    Raises:
        Refused: 404 ``not_found``; 409 ``already_settled`` / ``not_scheduled``; 422 ``invalid_metering`` or
            ``missing_interval`` naming the field.
    """
    order_id = str(body.get("orderId", ""))
    metered: dict[int, float] = {}
    for i, item in enumerate(body.get("intervals", [])):
        start = datetime.fromisoformat(item["start"])
        if start.tzinfo is None or start.timestamp() % 900:
            raise Refused(422, "invalid_metering", f"intervals[{i}].start: must be a 15-minute slot start in UTC")
        metered[slot_of(start)] = metered.get(slot_of(start), 0.0) + float(item["energyKwh"])

    def work(conn: sa.Connection, now: datetime) -> dict[str, Any]:
        repo = market.repository
        row = repo.order(conn, order_id)
        if (
            row is None
            or row.side != Side.SELL
            or (row.participant_id != participant.id and "operator" not in participant.roles)
        ):
            raise Refused(404, "not_found", f"orderId: no bid {order_id!r} of yours")
        if row.status in (OrderStatus.EXECUTED, OrderStatus.SETTLED):
            raise Refused(409, "already_settled", f"orderId: bid {order_id!r} is already settled")
        if row.status != OrderStatus.SCHEDULED or row.schedule is None:
            raise Refused(409, "not_scheduled", f"orderId: bid {order_id!r} is {row.status}, not scheduled")
        terms = market.bid_terms_of(row.body["flexOffer"])
        lines = [
            ContractLine(c.id, slot_of(c.slot_start), Direction(c.direction), c.energy_kwh, c.price_eur_per_kwh)
            for c in repo.contracts(conn, order_ids=[order_id])
        ]
        try:
            result = settle(
                terms,
                parse_schedule(row.schedule),
                lines,
                metered,
                cutoff_kwh=market.settings.imbalance_cutoff_kwh,
                fee_eur_per_kwh=market.settings.imbalance_fee_eur_per_kwh,
            )
        except SettlementRefused as exc:
            raise Refused(422, exc.code, str(exc)) from None
        market.step(conn, order_id, OrderStatus.EXECUTED, Reason.METERED, now)
        market.step(conn, order_id, OrderStatus.SETTLED, Reason.SETTLED, now)
        answer = views.settlement(order_id, result)
        repo.add_settlement(conn, order_id, answer, now)
        return answer

    result: dict[str, Any] = market.run_locked(work)
    return result
