"""Order lifecycle: statuses, reason codes and the transitions the market allows (pure).

One state machine for both sides (trading contract, "Lifecycle/reason codes"); a step it does not list raises
:class:`IllegalTransition`, so a bug cannot revoke a matched order or schedule a rejected one::

    (new) -> accepted | rejected
    accepted, updated -> updated (sell only) | matched | revoked | rejected (unmatched at deadline) | expired
    matched -> matched (more contracts) | scheduled (sell) | expired (buy: its last slot closed)
    scheduled -> executed -> settled

A bid may be updated and revoked until its first contract (reference flexoffer.md 7: "revocation until
ordered"); after that its schedule is only fixed, executed and settled.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from goflex.flex.fmar.errors import IllegalTransition


class Side(StrEnum):
    """Which side of the book an order is on."""

    SELL = "sell"
    BUY = "buy"


class OrderStatus(StrEnum):
    """An order's status (wire values)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UPDATED = "updated"
    REVOKED = "revoked"
    MATCHED = "matched"
    SCHEDULED = "scheduled"
    EXECUTED = "executed"
    SETTLED = "settled"
    EXPIRED = "expired"


class Reason(StrEnum):
    """Why an order is in its status (wire values of ``reason``)."""

    ACCEPTED = "accepted"
    INVALID_OFFER = "invalid_offer"
    INVALID_ORDER = "invalid_order"
    NOT_AUTHORISED = "not_authorised"
    UNKNOWN_LOCATION = "unknown_location"
    GATE_CLOSED = "gate_closed"
    DEADLINE_PASSED = "deadline_passed"
    PRICE_OUT_OF_RANGE = "price_out_of_range"
    UPDATED = "updated"
    REVOKED = "revoked"
    MATCHED = "matched"
    FULLY_MATCHED = "fully_matched"
    FULLY_USED = "fully_used"
    SCHEDULED_AT_DEADLINE = "scheduled_at_deadline"
    UNMATCHED_AT_DEADLINE = "unmatched_at_deadline"
    GATE_CLOSED_UNMATCHED = "gate_closed_unmatched"
    METERED = "metered"
    SETTLED = "settled"


OPEN_STATUSES: Final = frozenset({OrderStatus.ACCEPTED, OrderStatus.UPDATED, OrderStatus.MATCHED})
"""Statuses in which an order is in the book (can still be matched)."""

_ALLOWED: Final[dict[OrderStatus | None, frozenset[OrderStatus]]] = {
    None: frozenset({OrderStatus.ACCEPTED, OrderStatus.REJECTED}),
    OrderStatus.ACCEPTED: frozenset(
        {OrderStatus.UPDATED, OrderStatus.MATCHED, OrderStatus.REVOKED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
    ),
    OrderStatus.UPDATED: frozenset(
        {OrderStatus.UPDATED, OrderStatus.MATCHED, OrderStatus.REVOKED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
    ),
    OrderStatus.MATCHED: frozenset({OrderStatus.MATCHED, OrderStatus.SCHEDULED, OrderStatus.EXPIRED}),
    OrderStatus.SCHEDULED: frozenset({OrderStatus.EXECUTED}),
    OrderStatus.EXECUTED: frozenset({OrderStatus.SETTLED}),
}

_REFUSAL_CODES: Final = {
    OrderStatus.REVOKED: "not_revocable",
    OrderStatus.UPDATED: "not_updatable",
    OrderStatus.EXECUTED: "not_scheduled",
}


def can_transition(current: OrderStatus | None, wanted: OrderStatus, side: Side) -> bool:
    """Whether ``current -> wanted`` is a step of the lifecycle for an order on ``side``."""
    if wanted is OrderStatus.UPDATED and side is Side.BUY:
        return False  # buy orders are revoked and placed again, never replaced
    if wanted in (OrderStatus.SCHEDULED, OrderStatus.EXECUTED, OrderStatus.SETTLED) and side is Side.BUY:
        return False  # the bid carries the schedule and its settlement
    return wanted in _ALLOWED.get(current, frozenset())


def transition(current: OrderStatus | None, wanted: OrderStatus, side: Side) -> OrderStatus:
    """The new status, after checking the step.

    Raises:
        IllegalTransition: the step is not in the lifecycle; ``code`` is ``not_revocable`` for a revocation,
            ``not_updatable`` for an update, ``not_scheduled`` for metering too early, else ``illegal_transition``.
    """
    if not can_transition(current, wanted, side):
        code = _REFUSAL_CODES.get(wanted, "illegal_transition")
        raise IllegalTransition(code, str(current), str(wanted))
    return wanted
