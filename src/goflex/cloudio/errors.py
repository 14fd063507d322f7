"""Errors of the cloud.iO protocol core.

Tree::

    GoflexError
     +- CloudioError            anything wrong with a cloud.iO name, topic or payload
         +- InvalidName         a name breaks the cloud.iO naming rules (reason MALFORMED)
         +- InvalidTopic        a topic string does not fit the grammar of its action (reason MALFORMED)
         +- RejectedPayload     a payload is refused; ``reason`` says why (ingest counts by it)

Every :class:`CloudioError` carries a :class:`RejectReason` in ``reason`` so a service can count any protocol
error by reason without a second ``except`` clause.
"""

from __future__ import annotations

from enum import StrEnum

from goflex.common.errors import GoflexError


class RejectReason(StrEnum):
    """Why a message was refused (the label of the ingest rejection counter)."""

    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    NOT_UTF8 = "not_utf8"
    WRONG_SCHEMA = "wrong_schema"
    UNKNOWN_KEY = "unknown_key"
    WRONG_TYPE = "wrong_type"
    NOT_FINITE = "not_finite"
    CONSTRAINT = "constraint"
    UNKNOWN_ATTRIBUTE = "unknown_attribute"
    NO_TIMESTAMP = "no_timestamp"
    TIMESTAMP_FUTURE = "timestamp_future"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    DENIED = "denied"


class CloudioError(GoflexError):
    """Base of every error of ``goflex.cloudio``."""

    reason: RejectReason = RejectReason.MALFORMED


class InvalidName(CloudioError):  # noqa: N818 (names fixed by the shared API, issue 2)
    """A name (endpoint, node, object, attribute) breaks the naming rules; the message says which rule."""

    def __init__(self, name: str, problem: str, *, what: str = "name") -> None:
        super().__init__(f"invalid {what} {name!r}: {problem}")
        self.name = name
        self.problem = problem
        self.what = what


class InvalidTopic(CloudioError):  # noqa: N818 (names fixed by the shared API, issue 2)
    """A topic does not fit the grammar of its action; the message names the problem."""

    def __init__(self, topic: str, problem: str) -> None:
        super().__init__(f"invalid topic {topic!r}: {problem}")
        self.topic = topic
        self.problem = problem


class RejectedPayload(CloudioError):  # noqa: N818 (names fixed by the shared API, issue 2)
    """A payload is refused.

    Attributes:
        reason: why, as counted by ingest.
        field: the offending field, as a dotted path into the document (``"attribute.value"``).
        problem: what is wrong with it, in words.
    """

    def __init__(self, reason: RejectReason, field: str, problem: str = "") -> None:
        text = f"{field}: {problem}" if problem else field
        super().__init__(f"{text} [{reason.value}]")
        self.reason = reason
        self.field = field
        self.problem = problem
