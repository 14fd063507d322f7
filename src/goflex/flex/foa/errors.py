"""Errors of the FlexOffer Agents.

Tree::

    FlexOfferError (goflex.flex.errors)
     +- FoaError
         +- InvalidDeviceState   a device state or parameter out of its range; fix the reading or the config
         +- IllegalTransition    a lifecycle step the FlexOffer states do not allow; a bug or a replayed message
         +- FmanUnavailable      FMAN did not answer (network, 5xx); retry at the next heartbeat
         +- FmanRejected         FMAN answered with a 4xx error; do not retry the same request
"""

from __future__ import annotations

from goflex.flex.errors import FlexOfferError


class FoaError(FlexOfferError):
    """Base of every error of :mod:`goflex.flex.foa`."""


class InvalidDeviceState(FoaError):  # noqa: N818 - named for what is wrong (style.md 5)
    """A device state or parameter is outside its range.

    Attributes:
        field: the parameter or state field, e.g. ``soc_kwh``.
        rule: the rule broken, in words.
    """

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class IllegalTransition(FoaError):  # noqa: N818 - named for what is wrong
    """A lifecycle transition that the FlexOffer states do not allow (e.g. executed -> offered)."""

    def __init__(self, offer_id: str, current: str, wanted: str) -> None:
        super().__init__(f"FlexOffer {offer_id}: no transition {current} -> {wanted}")
        self.offer_id = offer_id
        self.current = current
        self.wanted = wanted


class FmanUnavailable(FoaError):  # noqa: N818
    """FMAN could not be reached or failed (network error, timeout, 5xx); the agent retries later."""


class FmanRejected(FoaError):  # noqa: N818
    """FMAN refused a request with a 4xx error.

    Attributes:
        status: the HTTP status.
        code: the contract's snake_case error code (``error.code``), or ``http_<status>``.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"FMAN refused ({status} {code}): {message}")
        self.status = status
        self.code = code
