"""Errors of the Flexibility Market (FMAR).

Tree::

    GoflexError
     +- MarketError            anything the market refuses
         +- OrderRefused       an order or bid breaks a rule: it is stored as ``rejected`` with ``reason``
         +- IllegalTransition  a lifecycle step that the state machine forbids (``not_revocable`` ...)
         +- SettlementRefused  metering that cannot settle a bid (missing interval, not scheduled ...)
"""

from __future__ import annotations

from goflex.common.errors import GoflexError


class MarketError(GoflexError):
    """Base of every error the market raises on purpose."""


class OrderRefused(MarketError):  # noqa: N818 - named for the caller's decision (style.md 5)
    """The order breaks a rule; the caller records it as rejected.

    Attributes:
        reason: the wire reason code (``invalid_offer``, ``gate_closed``, ...).
        field: the offending field in wire names.
        rule: the rule broken, in words.
    """

    def __init__(self, reason: str, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.reason = reason
        self.field = field
        self.rule = rule


class IllegalTransition(MarketError):  # noqa: N818 - named for what is wrong (style.md 5)
    """The order's lifecycle does not allow this step from its current status.

    Attributes:
        code: the wire error code for the refusal (``not_revocable``, ``not_updatable``, ...).
        current: the status the order is in.
        wanted: the status that was asked for.
    """

    def __init__(self, code: str, current: str, wanted: str) -> None:
        super().__init__(f"status {current!r} cannot become {wanted!r}")
        self.code = code
        self.current = current
        self.wanted = wanted


class SettlementRefused(MarketError):  # noqa: N818 - named for the caller's decision (style.md 5)
    """Metering that cannot settle the bid; ``code`` is the wire error code, the message names the field."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Refused(MarketError):  # noqa: N818 - named for the caller's decision (style.md 5)
    """A request the market refuses as a whole (nothing stored); ``status`` is the HTTP status to answer.

    Attributes:
        status: 400, 401, 403, 404, 409 or 422.
        code: the wire error code (``missing_idempotency_key``, ``not_revocable``, ...).
        message: names the field and the rule.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
