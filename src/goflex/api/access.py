"""Who may call which route: every route declares one access rule, and a route without one cannot exist.

Copied in spirit from FlexMeasures' row-level access control (style.md): the rule sits next to the route, an
empty declaration means deny, and the check is enforced when the app is built (reliability.md S9):
:func:`enforce_rules` raises :class:`~goflex.api.errors.RouteWithoutRule` for any route that is not a FastAPI
``APIRoute`` carrying exactly one rule, so a forgotten rule stops the service from starting instead of opening a
hole.

Rules (:class:`AccessRule`):

* ``PUBLIC``: anyone (``/health``, the OpenAPI document);
* ``AUTHENTICATED``: any known, enabled user (HTTP Basic);
* ``ADMIN``: a user with the administrator flag;
* ``LOOPBACK_OR_ADMIN``: a request from the loopback interface, or an administrator (``/metrics``: a Prometheus
  server scraping from the same host needs no password; from elsewhere only an admin may read it);
* :func:`endpoint_permission` ``(level)``: a user whose effective permission on the path's ``{endpoint}`` is at
  least ``level`` (administrators have every permission).

Endpoint-scoped rules never reveal whether an endpoint exists (S9): below ``BROWSE`` the caller gets exactly the
404 a missing endpoint gives; from ``BROWSE`` up (they know it exists) a missing level is a 403 naming it.

Usage::

    @router.get("/data/{endpoint}", dependencies=[])
    def get_data(endpoint: str, caller: Annotated[Caller, require(endpoint_permission(READ))]) -> ...:
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Final, Protocol

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from goflex.api.errors import ApiError, ErrorCode, RouteWithoutRule, not_found
from goflex.store import EndpointPermission

RULE_ATTRIBUTE: Final = "__goflex_access_rule__"
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
REALM: Final = "goflex"


class AccessKind(StrEnum):
    """The kinds of access rule."""

    PUBLIC = "public"
    AUTHENTICATED = "authenticated"
    ADMIN = "admin"
    LOOPBACK_OR_ADMIN = "loopback_or_admin"
    ENDPOINT = "endpoint"


@dataclass(frozen=True)
class AccessRule:
    """Who may call a route.

    Attributes:
        kind: the kind of rule.
        permission: for ``ENDPOINT`` rules, the least effective permission on the path's endpoint.
    """

    kind: AccessKind
    permission: EndpointPermission | None = None

    def describe(self) -> str:
        """The rule in words, as shown in the OpenAPI document."""
        if self.kind is AccessKind.ENDPOINT and self.permission is not None:
            return f"endpoint permission {self.permission.name} or higher (administrators: always)"
        return {
            AccessKind.PUBLIC: "public, no authentication",
            AccessKind.AUTHENTICATED: "any authenticated user",
            AccessKind.ADMIN: "administrators only",
            AccessKind.LOOPBACK_OR_ADMIN: "requests from the loopback interface, or administrators",
            AccessKind.ENDPOINT: "endpoint permission",
        }[self.kind]


PUBLIC: Final = AccessRule(AccessKind.PUBLIC)
AUTHENTICATED: Final = AccessRule(AccessKind.AUTHENTICATED)
ADMIN: Final = AccessRule(AccessKind.ADMIN)
LOOPBACK_OR_ADMIN: Final = AccessRule(AccessKind.LOOPBACK_OR_ADMIN)


def endpoint_permission(level: EndpointPermission) -> AccessRule:
    """The rule "effective permission on ``{endpoint}`` at least ``level``"."""
    return AccessRule(AccessKind.ENDPOINT, EndpointPermission(level))


@dataclass(frozen=True)
class Identity:
    """An authenticated user.

    Attributes:
        name: the user name.
        admin: whether the user is an administrator (every permission on every endpoint).
    """

    name: str
    admin: bool


@dataclass(frozen=True)
class Caller:
    """The outcome of an access check, handed to the route.

    Attributes:
        identity: the authenticated user, ``None`` for public and loopback access.
        endpoint: the endpoint of an endpoint-scoped route.
        permission: the caller's effective permission on ``endpoint`` (``OWN`` for administrators).
    """

    identity: Identity | None
    endpoint: str | None = None
    permission: EndpointPermission | None = None

    @property
    def name(self) -> str | None:
        """The user name, if authenticated."""
        return None if self.identity is None else self.identity.name


class AccessBackend(Protocol):
    """What the access checks need from the access-rights store (implemented in :mod:`goflex.api.auth`)."""

    def authenticate(self, name: str, password: str) -> Identity | None:
        """The user with this name and password, or ``None`` (unknown, disabled or wrong password)."""

    def effective_permission(self, identity: Identity, endpoint: str) -> EndpointPermission:
        """The user's effective permission on ``endpoint`` (``DENY`` if none applies or it does not exist)."""

    def forget(self, name: str) -> None:
        """Drop anything remembered about user ``name`` (its password or existence changed)."""


def backend(request: Request) -> AccessBackend:
    backend: AccessBackend = request.app.state.access_backend
    return backend


_basic = HTTPBasic(auto_error=False, realm=REALM, description="user name and password of a goflex user")
Credentials = Annotated[HTTPBasicCredentials | None, Depends(_basic)]


def _unauthenticated() -> ApiError:
    return ApiError(
        401,
        ErrorCode.UNAUTHENTICATED,
        "authentication required (HTTP Basic)",
        headers={"WWW-Authenticate": f'Basic realm="{REALM}"'},
    )


def _authenticate(request: Request, credentials: HTTPBasicCredentials | None) -> Identity:
    if credentials is None:
        raise _unauthenticated()
    # The password lives only in this frame: never logged, never stored on the request (S10).
    identity = backend(request).authenticate(credentials.username, credentials.password)
    if identity is None:
        raise _unauthenticated()
    return identity


def _is_loopback(request: Request) -> bool:
    return request.client is not None and request.client.host in LOOPBACK_HOSTS


def check(rule: AccessRule, request: Request, credentials: HTTPBasicCredentials | None) -> Caller:
    """Evaluate ``rule`` for a request; returns the caller or raises the refusal.

    Raises:
        ApiError: 401 without valid credentials, 404 for an endpoint the caller may not even browse (the same
            response as for a missing endpoint), 403 when the caller is known but lacks the level.
    """
    if rule.kind is AccessKind.PUBLIC:
        return Caller(None)
    if rule.kind is AccessKind.LOOPBACK_OR_ADMIN and credentials is None and _is_loopback(request):
        return Caller(None)
    identity = _authenticate(request, credentials)
    if rule.kind is AccessKind.AUTHENTICATED:
        return Caller(identity)
    if rule.kind in (AccessKind.ADMIN, AccessKind.LOOPBACK_OR_ADMIN):
        if not identity.admin:
            raise ApiError(403, ErrorCode.FORBIDDEN, "administrators only")
        return Caller(identity)
    endpoint = str(request.path_params.get("endpoint", ""))
    required = rule.permission if rule.permission is not None else EndpointPermission.OWN
    if identity.admin:
        return Caller(identity, endpoint, EndpointPermission.OWN)
    have = backend(request).effective_permission(identity, endpoint)
    if have < EndpointPermission.BROWSE:
        raise not_found("endpoint", endpoint)
    if have < required:
        raise ApiError(
            403,
            ErrorCode.FORBIDDEN,
            f"permission {required.name} on endpoint {endpoint!r} needed, you have {have.name}",
        )
    return Caller(identity, endpoint, have)


def require(rule: AccessRule) -> Any:
    """The FastAPI dependency that enforces ``rule`` and yields a :class:`Caller`; it also declares the rule.

    Use it once per route, in the signature (``caller: Annotated[Caller, require(ADMIN)]``) or in the
    decorator's ``dependencies``.
    """
    dependency: Callable[..., Caller]
    if rule.kind is AccessKind.PUBLIC:

        def dependency(request: Request) -> Caller:
            return check(rule, request, None)

    else:
        # A plain (sync) function: FastAPI runs it in a worker thread, where password hashing and the store's
        # synchronous queries do not block the event loop.
        def dependency(request: Request, credentials: Credentials) -> Caller:
            return check(rule, request, credentials)

    setattr(dependency, RULE_ATTRIBUTE, rule)
    return Depends(dependency)


def route_rule(route: APIRoute) -> AccessRule:
    """The one rule a route declares.

    Raises:
        RouteWithoutRule: none, or more than one (ambiguity is denied too).
    """
    rules = [
        rule
        for dep in route.dependant.dependencies
        if (rule := getattr(dep.call, RULE_ATTRIBUTE, None)) is not None and isinstance(rule, AccessRule)
    ]
    label = f"{','.join(sorted(route.methods or ()))} {route.path}"
    if len(rules) != 1:
        raise RouteWithoutRule(label if not rules else f"{label} (declares {len(rules)} rules)")
    rule = rules[0]
    if rule.kind is AccessKind.ENDPOINT and "{endpoint}" not in route.path:
        raise RouteWithoutRule(f"{label} (endpoint rule but no {{endpoint}} in the path)")
    return rule


def enforce_rules(app: FastAPI) -> dict[tuple[str, str], AccessRule]:
    """Check every route of ``app`` and document its rule in OpenAPI; returns ``{(method, path): rule}``.

    Raises:
        RouteWithoutRule: a route is not an ``APIRoute`` (mounts, raw Starlette routes, websockets cannot declare
            a rule) or declares none.
    """
    table: dict[tuple[str, str], AccessRule] = {}
    for route in app.routes:
        if not isinstance(route, APIRoute):
            raise RouteWithoutRule(f"{type(route).__name__} {getattr(route, 'path', '?')}")
        rule = route_rule(route)
        extra = dict(route.openapi_extra or {})
        extra["x-goflex-access"] = rule.describe()
        route.openapi_extra = extra
        access_line = f"Access: {rule.describe()}."
        if access_line not in (route.description or ""):
            route.description = f"{route.description}\n\n{access_line}".strip()
        for method in route.methods or ():
            table[(method, route.path)] = rule
    return table
