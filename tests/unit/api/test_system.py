"""/health, /metrics, the login cache, and secrets staying out of the logs (S10)."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter

from goflex.api.app import create_app
from goflex.common.clock import SimClock
from goflex.store import Database, RightsRepository
from tests.unit.api.world import EP1, FAST_HASHER, PASSWORD, FakePublisher, auth, client_for


async def test_health_is_public_and_ok_when_everything_works(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True}}


async def test_health_is_503_degraded_when_a_source_fails(db: Database, clock: SimClock) -> None:
    def broken() -> bool:
        raise RuntimeError("probe crashed")

    app = create_app(
        db=db,
        publisher=FakePublisher(),
        clock=clock,
        health_sources={"ingest": lambda: False, "broker": lambda: True, "probe": broken},
    )
    async with client_for(app) as client:
        response = await client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": True, "ingest": False, "broker": True, "probe": False},
    }


async def test_health_reports_a_database_that_does_not_answer(
    db: Database, clock: SimClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(db=db, publisher=FakePublisher(), clock=clock)
    monkeypatch.setattr(db, "ping", lambda: False)  # the store's own tests cover ping against a dead server
    async with client_for(app) as client:
        response = await client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] is False


@pytest.fixture
def metrics_app(db: Database, clock: SimClock) -> FastAPI:
    registry = CollectorRegistry()
    Counter("goflex_test_events", "events seen", registry=registry).inc(3)
    return create_app(
        db=db, publisher=FakePublisher(), clock=clock, metrics_sources=[registry], password_hasher=FAST_HASHER
    )


async def test_metrics_from_loopback_need_no_password(metrics_app: FastAPI) -> None:
    async with client_for(metrics_app, ("127.0.0.1", 5555)) as client:
        response = await client.get("/api/v1/metrics")
    assert response.status_code == 200
    assert "goflex_test_events_total 3.0" in response.text


async def test_metrics_from_elsewhere_need_an_admin(metrics_app: FastAPI) -> None:
    async with client_for(metrics_app) as client:
        assert (await client.get("/api/v1/metrics")).status_code == 401
        assert (await client.get("/api/v1/metrics", auth=auth("alice"))).status_code == 403
        assert (await client.get("/api/v1/metrics", auth=auth("root"))).status_code == 200


async def test_a_remembered_login_is_forgotten_when_the_user_is_deleted(db: Database, clock: SimClock) -> None:
    app = create_app(db=db, publisher=FakePublisher(), clock=clock, password_hasher=FAST_HASHER, login_cache_s=60)
    RightsRepository(db, hasher=FAST_HASHER).create_user("temp", "temp-password-1")
    async with client_for(app) as client:
        assert (await client.get("/api/v1/endpoints", auth=("temp", "temp-password-1"))).status_code == 200
        assert (await client.get("/api/v1/endpoints", auth=("temp", "wrong-password"))).status_code == 401
        assert (await client.delete("/api/v1/users/temp", auth=auth("root"))).status_code == 200
        assert (await client.get("/api/v1/endpoints", auth=("temp", "temp-password-1"))).status_code == 401


async def test_passwords_and_authorization_headers_never_reach_the_log(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await client.get(f"/api/v1/data/{EP1}", auth=("alice", "not-her-password"))
    await client.get(f"/api/v1/data/{EP1}", auth=auth("alice"))
    await client.post("/api/v1/users", json={"name": "hank", "password": "hank-password-1"}, auth=auth("root"))
    text = caplog.text
    assert "authentication failed for user 'alice'" in text
    for secret in ("not-her-password", PASSWORD["alice"], PASSWORD["root"], "hank-password-1", "Basic "):
        assert secret not in text


async def test_an_unexpected_failure_is_a_500_problem_without_its_message(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(name: str) -> None:
        raise RuntimeError("secret-ish internals")

    monkeypatch.setattr(app.state.services.process, "get_endpoint", explode)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 1), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        response = await client.get(f"/api/v1/data/{EP1}", auth=auth("alice"))
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error", "code": "internal"}
