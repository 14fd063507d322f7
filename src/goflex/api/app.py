"""Building the goflex HTTP API: the FastAPI app, its error responses, ``/health``, ``/metrics`` and OpenAPI.

:func:`create_app` wires the routers of :mod:`goflex.api.routes_data`, :mod:`goflex.api.routes_history` and
:mod:`goflex.api.routes_admin` to one database, one :class:`~goflex.api.publisher.SetPublisher` and one clock,
then calls :func:`~goflex.api.access.enforce_rules`: the app cannot be built with a route that declares no access
rule (reliability.md S9).

Decisions (documented in the OpenAPI text too):

* ``/health`` is public (load balancers probe it without credentials) and answers 200 ``ok`` or 503
  ``degraded`` with the state of every part: the database ping and each registered health source.
* ``/metrics`` (Prometheus text) is open to requests from the loopback interface (a Prometheus on the same host)
  and otherwise needs an administrator. Behind a reverse proxy on the same host every request looks local, so
  such deployments pass ``metrics_from_loopback=False``.
* Every error is ``{"detail": "...", "code": "...", "field": ...}``; a validation error names the bad parameter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal

from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, generate_latest
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from goflex.api import routes_admin, routes_data, routes_history
from goflex.api.access import LOOPBACK_OR_ADMIN, PUBLIC, AccessRule, Caller, enforce_rules, require
from goflex.api.auth import DEFAULT_CACHE_S, StoreAccessBackend
from goflex.api.context import API_PREFIX, DEFAULT_HISTORY_MAX, ApiServices, HealthSource, services
from goflex.api.errors import ApiError, ErrorCode
from goflex.api.publisher import SetPublisher
from goflex.api.schemas import Problem
from goflex.common.clock import Clock
from goflex.store import Database, HistoryRepository, ProcessRepository, RightsRepository, StoreError
from goflex.store.errors import Conflict, NotFound, StoreUnavailable

log = logging.getLogger(__name__)


class HealthOut(BaseModel):
    """Health of the API and what it depends on."""

    status: Literal["ok", "degraded"] = Field(description="ok if every check passes, else degraded")
    checks: dict[str, bool] = Field(description="each check by name: database, and every registered source")


# ----------------------------------------------------------------------------------------------- error handling
def _problem(status: int, code: str, detail: str, field_name: str | None = None, **headers: str) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail, "code": code}
    if field_name is not None:
        body["field"] = field_name
    return JSONResponse(body, status_code=status, headers=headers or None)


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _problem(exc.status, exc.code, exc.detail, exc.field, **(exc.headers or {}))


async def _on_store_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, NotFound):
        return _problem(404, ErrorCode.NOT_FOUND, str(exc))
    if isinstance(exc, Conflict):
        return _problem(409, ErrorCode.CONFLICT, str(exc))
    if isinstance(exc, StoreUnavailable):
        return _problem(503, ErrorCode.UNAVAILABLE, "database unavailable, retry later", **{"Retry-After": "5"})
    log.error("store error on %s %s: %s", request.method, request.url.path, exc)
    return _problem(500, ErrorCode.INTERNAL, "internal store error")


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ())]
    where = {"query": "query parameter", "path": "path parameter", "body": "body field", "header": "header"}
    kind = where.get(loc[0], "parameter") if loc else "parameter"
    name = ".".join(loc[1:]) if len(loc) > 1 else (loc[0] if loc else "request")
    return _problem(422, ErrorCode.INVALID_PARAMETER, f"{kind} {name!r}: {first.get('msg')}", name)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {401: ErrorCode.UNAUTHENTICATED, 403: ErrorCode.FORBIDDEN, 404: ErrorCode.NOT_FOUND}.get(
        exc.status_code, ErrorCode.INVALID_PARAMETER if exc.status_code < 500 else ErrorCode.INTERNAL
    )
    return _problem(exc.status_code, code, str(exc.detail), **(exc.headers or {}))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The message of an unexpected error may carry data; only its type is logged with the traceback.
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
    return _problem(500, ErrorCode.INTERNAL, "internal error")


# ----------------------------------------------------------------------------------------------- system routes
def _register_system_routes(app: FastAPI) -> None:
    @app.get(
        f"{API_PREFIX}/health",
        summary="Health of the API, its database and registered parts",
        response_model=HealthOut,
        responses={503: {"model": HealthOut, "description": "degraded"}},
        tags=["system"],
    )
    def health(request: Request, caller: Annotated[Caller, require(PUBLIC)]) -> JSONResponse:
        svc = services(request)
        checks = {"database": svc.db.ping()}
        for name, source in svc.health_sources.items():
            try:
                checks[name] = bool(source())
            except Exception:  # a broken probe means degraded, never a 500 from /health
                log.exception("health source %s failed", name)
                checks[name] = False
        out = HealthOut(status="ok" if all(checks.values()) else "degraded", checks=checks)
        return JSONResponse(out.model_dump(), status_code=200 if out.status == "ok" else 503)

    @app.get(
        f"{API_PREFIX}/metrics",
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format"}},
        tags=["system"],
    )
    def metrics(request: Request, caller: Annotated[Caller, require(LOOPBACK_OR_ADMIN)]) -> PlainTextResponse:
        svc = services(request)
        if caller.identity is None and not svc.metrics_from_loopback:
            raise ApiError(401, ErrorCode.UNAUTHENTICATED, "authentication required (HTTP Basic)")
        text = b"".join(generate_latest(registry) for registry in svc.metrics_sources)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get(f"{API_PREFIX}/openapi.json", summary="This API's OpenAPI document", tags=["system"])
    def openapi(caller: Annotated[Caller, require(PUBLIC)]) -> dict[str, Any]:
        return app.openapi()


def _openapi_factory(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
        return app.openapi_schema

    return build


def create_app(
    *,
    db: Database,
    publisher: SetPublisher,
    clock: Clock,
    health_sources: Mapping[str, HealthSource] | None = None,
    metrics_sources: Sequence[CollectorRegistry] = (),
    history_max: int = DEFAULT_HISTORY_MAX,
    metrics_from_loopback: bool = True,
    password_hasher: PasswordHasher | None = None,
    login_cache_s: float = DEFAULT_CACHE_S,
) -> FastAPI:
    """Build the API app.

    Args:
        db: an open, migrated database.
        publisher: where ``PUT /data`` sends its ``@set`` messages.
        clock: the source of ``@set`` timestamps and history defaults.
        health_sources: extra health checks by name (ingest, broker connection...).
        metrics_sources: Prometheus registries exposed at ``/metrics``.
        history_max: default and upper bound of the ``max`` rows of a history query.
        metrics_from_loopback: let loopback requests read ``/metrics`` without credentials.
        password_hasher: argon2 parameters for new passwords (default: argon2-cffi's); tests pass cheap ones.
        login_cache_s: how long a successful login is remembered [s] (0: check the password on every request).

    Raises:
        RouteWithoutRule: a route declares no access rule (a programming error caught at start-up).
    """
    app = FastAPI(
        title="goflex API",
        version="1",
        description="cloud.iO-compatible back-end API of goflex: data, history, endpoints, permissions, users.",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        responses={
            401: {"model": Problem, "description": "no or wrong credentials"},
            422: {"model": Problem, "description": "invalid parameter (named in `field`)"},
        },
    )
    rights = RightsRepository(db, clock=clock, hasher=password_hasher)
    app.state.services = ApiServices(
        db=db,
        process=ProcessRepository(db, clock=clock),
        history=HistoryRepository(db, clock=clock),
        rights=rights,
        publisher=publisher,
        clock=clock,
        health_sources=dict(health_sources or {}),
        metrics_sources=tuple(metrics_sources),
        history_max=history_max,
        metrics_from_loopback=metrics_from_loopback,
    )
    app.state.access_backend = StoreAccessBackend(rights, clock=clock, cache_s=login_cache_s)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StoreError, _on_store_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
    _register_system_routes(app)
    for router in (routes_data.router, routes_history.router, routes_admin.router):
        # Routes are added one by one, not with include_router: FastAPI includes routers lazily, and a lazily
        # included route cannot be checked for its access rule before the app serves (enforce_rules refuses it).
        app.router.routes.extend(router.routes)
    app.state.access_rules = enforce_rules(app)
    app.openapi = _openapi_factory(app)  # type: ignore[method-assign]
    return app


def access_rules(app: FastAPI) -> dict[tuple[str, str], AccessRule]:
    """``{(method, path): rule}`` of a built app (for tests and documentation)."""
    rules: dict[tuple[str, str], AccessRule] = app.state.access_rules
    return rules
