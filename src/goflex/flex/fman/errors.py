"""Errors of the Flexibility Manager (FMAN).

Tree::

    GoflexError
     +- FmanError                 base of this part
         +- RequestRefused        an API request is refused; carries the HTTP status and the wire error code
         +- MarketError           talking to FMAR failed
             +- MarketUnavailable FMAR did not answer (network, timeout, 5xx): retry later with backoff
             +- MarketRefused     FMAR answered with a 4xx error (its code and message are kept)
"""

from __future__ import annotations

from goflex.common.errors import GoflexError


class FmanError(GoflexError):
    """Base of every error the FMAN raises."""


class RequestRefused(FmanError):  # noqa: N818 - named for what the caller decides (style.md 5)
    """An API request is refused; the caller answers ``status`` with ``{"error": {"code", "message"}}``.

    Attributes:
        status: HTTP status (4xx).
        code: snake_case reason of the trading contract (``not_revocable``, ``idempotency_key_reused``, ...).
        message: names the field and the rule.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class MarketError(FmanError):
    """Talking to the market (FMAR) failed."""


class MarketUnavailable(MarketError):  # noqa: N818 - named for what the caller decides (style.md 5)
    """FMAR did not answer usefully (connection refused, timeout, 5xx): keep going, retry with backoff."""


class MarketRefused(MarketError):  # noqa: N818 - named for what the caller decides (style.md 5)
    """FMAR refused a request with a 4xx error.

    Attributes:
        status: HTTP status.
        code: FMAR's error code (``not_revocable``, ...), or ``http_<status>`` when the body has none.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"market refused ({status} {code}): {message}")
        self.status = status
        self.code = code
