"""Every route of the real app declares an access rule, and no route tells a stranger an endpoint exists (S9)."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from goflex.api.access import AccessKind, route_rule
from goflex.api.app import access_rules
from tests.unit.api.world import EP1, MISSING, POWER, auth

# Sample values for the path and query parameters of every endpoint-scoped route.
PATH_SAMPLES = {"path": POWER}
QUERY_SAMPLES = {"value": "1", "permission": "READ", "userName": "bob"}


def endpoint_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    found = []
    for route in app.routes:
        assert isinstance(route, APIRoute)
        if route_rule(route).kind is AccessKind.ENDPOINT:
            found.extend((method, route) for method in sorted(route.methods))
    return found


def url_for(route: APIRoute, endpoint: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return endpoint if name == "endpoint" else PATH_SAMPLES[name]

    return re.sub(r"\{([^}]+)\}", fill, route.path)


def test_every_route_of_the_app_declares_exactly_one_rule(app: FastAPI) -> None:
    rules = access_rules(app)
    listed = {(m, r.path) for r in app.routes if isinstance(r, APIRoute) for m in r.methods}
    assert all(isinstance(r, APIRoute) for r in app.routes)
    assert set(rules) == listed
    # The routes the issue asks for are all there (and so all ruled).
    for method, path in [
        ("GET", "/api/v1/data/{endpoint}"),
        ("GET", "/api/v1/data/{endpoint}/{path:path}"),
        ("PUT", "/api/v1/data/{endpoint}/{path:path}"),
        ("GET", "/api/v1/history/{endpoint}/{path:path}"),
        ("GET", "/api/v1/endpoints"),
        ("POST", "/api/v1/endpoints"),
        ("POST", "/api/v1/endpoints/{endpoint}/ban"),
        ("PUT", "/api/v1/endpoints/{endpoint}/grant"),
        ("DELETE", "/api/v1/endpoints/{endpoint}/grant"),
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/metrics"),
        ("GET", "/api/v1/openapi.json"),
    ]:
        assert (method, path) in rules, (method, path)
    public = {key for key, rule in rules.items() if rule.kind is AccessKind.PUBLIC}
    assert public == {("GET", "/api/v1/health"), ("GET", "/api/v1/openapi.json")}


@pytest.mark.parametrize("stranger", ["bob", "erin"])
async def test_a_stranger_gets_the_same_404_whether_or_not_the_endpoint_exists(
    app: FastAPI, client: httpx.AsyncClient, stranger: str
) -> None:
    routes = endpoint_routes(app)
    assert len(routes) >= 7
    for method, route in routes:
        existing = await client.request(method, url_for(route, EP1), params=QUERY_SAMPLES, auth=auth(stranger))
        missing = await client.request(method, url_for(route, MISSING), params=QUERY_SAMPLES, auth=auth(stranger))
        where = f"{method} {route.path}"
        assert existing.status_code == missing.status_code == 404, where
        assert existing.headers["content-type"] == missing.headers["content-type"], where
        assert existing.json() == {"detail": f"endpoint {EP1!r} not found", "code": "not_found"}, where
        assert missing.json() == {"detail": f"endpoint {MISSING!r} not found", "code": "not_found"}, where


async def test_anonymous_callers_get_401_on_every_route_that_is_not_public(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for (method, path), rule in access_rules(app).items():
        if rule.kind is AccessKind.PUBLIC:
            continue
        url = re.sub(r"\{endpoint\}", EP1, path).replace("{path:path}", POWER)
        url = re.sub(r"\{[^}]+\}", "x", url)
        response = await client.request(method, url, params=QUERY_SAMPLES)
        assert response.status_code == 401, f"{method} {path}"
        assert response.json()["code"] == "unauthenticated"


async def test_openapi_documents_every_route_with_a_summary_and_its_access_rule(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert len(operations) >= 15
    for operation in operations:
        assert operation.get("summary"), operation
        assert operation.get("x-goflex-access"), operation
        assert "200" in operation["responses"] or "201" in operation["responses"] or "202" in operation["responses"]
