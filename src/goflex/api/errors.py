"""Errors of the HTTP API and their problem-style JSON form.

Tree::

    GoflexError
     +- ApiError                 a request is refused; carries the HTTP status, a stable ``code`` and the field
         +- RouteWithoutRule     the app was built with a route that declares no access rule (build time)

Every refusal leaves the API as ``{"detail": "...", "code": "..."}`` (and ``"field"`` when one input is to blame),
so a client can branch on ``code`` and show ``detail`` to a person. Store errors are translated here, at the
edge, so handlers never return a driver's or a repository's message shape.
"""

from __future__ import annotations

from enum import StrEnum

from goflex.common.errors import GoflexError


class ErrorCode(StrEnum):
    """Stable machine-readable reason of an error response (``"code"`` in the body)."""

    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    INVALID_PARAMETER = "invalid_parameter"
    INVALID_VALUE = "invalid_value"
    NOT_SETTABLE = "not_settable"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"
    PUBLISH_FAILED = "publish_failed"
    INTERNAL = "internal"


class ApiError(GoflexError):
    """A refusal with its HTTP status.

    Attributes:
        status: the HTTP status code.
        code: the stable reason.
        detail: a sentence for a person; names the field or the attribute when one is to blame.
        field: the offending input (``"value"``, ``"query.from"``), if any.
    """

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.headers = headers


class RouteWithoutRule(ApiError):  # noqa: N818 - named for what is wrong, as the store's errors
    """A route was registered without an access rule; raised when the app is built, never at request time."""

    def __init__(self, route: str) -> None:
        super().__init__(500, ErrorCode.INTERNAL, f"route {route} declares no access rule (empty means deny)")
        self.route = route


def not_found(what: str, name: str) -> ApiError:
    """The one 404 of the API; the same text whether the object is absent or only invisible (S9)."""
    return ApiError(404, ErrorCode.NOT_FOUND, f"{what} {name!r} not found")


def invalid(field: str, problem: str, *, status: int = 422, code: ErrorCode = ErrorCode.INVALID_PARAMETER) -> ApiError:
    """A 422 naming the bad input ``field``."""
    return ApiError(status, code, f"{field}: {problem}", field=field)
