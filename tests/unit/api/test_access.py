"""The access-rule framework on its own: a tiny app with a fake rights backend (no database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from goflex.api.access import (
    ADMIN,
    AUTHENTICATED,
    LOOPBACK_OR_ADMIN,
    PUBLIC,
    Caller,
    Identity,
    endpoint_permission,
    enforce_rules,
    require,
)
from goflex.api.errors import ApiError, RouteWithoutRule
from goflex.store.permissions import EndpointPermission as P

PASSWORDS = {"alice": "alice-secret", "root": "root-secret", "mallory": "mallory-secret"}
GRANTS = {("alice", "ep-1"): P.READ, ("alice", "ep-2"): P.BROWSE, ("alice", "ep-3"): P.ACCESS}


class FakeBackend:
    def authenticate(self, name: str, password: str) -> Identity | None:
        if PASSWORDS.get(name) != password:
            return None
        return Identity(name, admin=name == "root")

    def effective_permission(self, identity: Identity, endpoint: str) -> P:
        return GRANTS.get((identity.name, endpoint), P.DENY)

    def forget(self, name: str) -> None:
        pass


def build(extra: APIRouter | None = None) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.access_backend = FakeBackend()

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse({"detail": exc.detail, "code": exc.code}, exc.status, headers=exc.headers)

    app.add_exception_handler(ApiError, on_api_error)

    @app.get("/public")
    def public(caller: Annotated[Caller, require(PUBLIC)]) -> str:
        return "hello"

    @app.get("/me")
    def me(caller: Annotated[Caller, require(AUTHENTICATED)]) -> str | None:
        return caller.name

    @app.get("/admin", dependencies=[require(ADMIN)])
    def admin() -> str:
        return "admin"

    @app.get("/metrics")
    def metrics(caller: Annotated[Caller, require(LOOPBACK_OR_ADMIN)]) -> str:
        return "metrics"

    @app.get("/data/{endpoint}")
    def data(endpoint: str, caller: Annotated[Caller, require(endpoint_permission(P.READ))]) -> str:
        return f"{caller.endpoint}:{caller.permission.name if caller.permission else None}"

    @app.put("/data/{endpoint}")
    def write(endpoint: str, caller: Annotated[Caller, require(endpoint_permission(P.WRITE))]) -> str:
        return "written"

    if extra is not None:
        app.router.routes.extend(extra.routes)
    enforce_rules(app)
    return app


REMOTE = ("203.0.113.7", 40000)  # a documentation address: not loopback


def client_for(app: FastAPI, peer: tuple[str, int] = REMOTE) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=peer), base_url="http://api")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(build()) as c:
        yield c


async def test_public_route_needs_no_credentials(client: httpx.AsyncClient) -> None:
    assert (await client.get("/public")).json() == "hello"


async def test_authenticated_route_refuses_missing_and_wrong_credentials(client: httpx.AsyncClient) -> None:
    for auth in (None, ("alice", "wrong"), ("nobody", "x")):
        response = await client.get("/me", auth=auth)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"
        assert response.headers["www-authenticate"].startswith("Basic")
    assert (await client.get("/me", auth=("alice", "alice-secret"))).json() == "alice"


async def test_admin_route_is_refused_to_a_plain_user(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin", auth=("alice", "alice-secret"))).status_code == 403
    assert (await client.get("/admin", auth=("root", "root-secret"))).json() == "admin"


async def test_metrics_rule_lets_admins_in_and_keeps_remote_anonymous_out(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", auth=("alice", "alice-secret"))).status_code == 403
    assert (await client.get("/metrics", auth=("root", "root-secret"))).status_code == 200


async def test_metrics_rule_lets_loopback_in_without_credentials() -> None:
    async with client_for(build(), ("127.0.0.1", 50000)) as local:
        assert (await local.get("/metrics")).status_code == 200


async def test_endpoint_rule_hides_endpoints_below_browse_exactly_like_missing_ones(client: httpx.AsyncClient) -> None:
    alice = ("alice", "alice-secret")
    hidden = await client.get("/data/ep-3", auth=alice)  # ACCESS only: may not even know it exists
    missing = await client.get("/data/no-such-endpoint", auth=alice)
    denied = await client.get("/data/ep-9", auth=("mallory", "mallory-secret"))
    assert hidden.status_code == missing.status_code == denied.status_code == 404
    assert hidden.json() == {"detail": "endpoint 'ep-3' not found", "code": "not_found"}
    assert missing.json() == {"detail": "endpoint 'no-such-endpoint' not found", "code": "not_found"}


async def test_endpoint_rule_says_403_with_the_missing_level_to_someone_who_can_browse(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/data/ep-2", auth=("alice", "alice-secret"))
    assert response.status_code == 403
    assert "READ" in response.json()["detail"]
    assert "BROWSE" in response.json()["detail"]


async def test_endpoint_rule_passes_the_effective_permission_to_the_route(client: httpx.AsyncClient) -> None:
    assert (await client.get("/data/ep-1", auth=("alice", "alice-secret"))).json() == "ep-1:READ"
    assert (await client.put("/data/ep-1", auth=("alice", "alice-secret"))).status_code == 403
    assert (await client.get("/data/anything", auth=("root", "root-secret"))).json() == "anything:OWN"


def test_a_route_without_rule_stops_the_app_from_being_built() -> None:
    router = APIRouter()

    @router.get("/forgotten")
    def forgotten() -> str:
        return "open"

    with pytest.raises(RouteWithoutRule, match="/forgotten"):
        build(router)


def test_a_route_with_two_rules_is_refused_as_ambiguous() -> None:
    router = APIRouter()

    @router.get("/twice", dependencies=[require(PUBLIC)])
    def twice(caller: Annotated[Caller, require(ADMIN)]) -> str:
        return "?"

    with pytest.raises(RouteWithoutRule, match="2 rules"):
        build(router)


def test_an_endpoint_rule_on_a_route_without_endpoint_parameter_is_refused() -> None:
    router = APIRouter()

    @router.get("/nothing")
    def nothing(caller: Annotated[Caller, require(endpoint_permission(P.READ))]) -> str:
        return "?"

    with pytest.raises(RouteWithoutRule, match="endpoint"):
        build(router)


def test_a_raw_starlette_route_cannot_carry_a_rule_and_is_refused() -> None:
    app = FastAPI(openapi_url="/openapi.json", docs_url=None, redoc_url=None)
    with pytest.raises(RouteWithoutRule, match="openapi"):
        enforce_rules(app)


def test_a_lazily_included_router_is_refused_because_its_routes_cannot_be_checked() -> None:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    router = APIRouter()

    @router.get("/inside")
    def inside(caller: Annotated[Caller, require(PUBLIC)]) -> str:
        return "?"

    app.include_router(router)
    with pytest.raises(RouteWithoutRule):
        enforce_rules(app)


def test_the_rule_is_written_into_the_openapi_document() -> None:
    app = build()
    schema = app.openapi()
    operation = schema["paths"]["/data/{endpoint}"]["put"]
    assert operation["x-goflex-access"].startswith("endpoint permission WRITE")
    assert "Access:" in operation["description"]
