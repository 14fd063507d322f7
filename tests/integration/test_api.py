"""The HTTP API on real services: PostgreSQL for data and history, Mosquitto for the @set it publishes."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from goflex.api.app import create_app
from goflex.api.publisher import MqttSetPublisher
from goflex.cloudio.messages import encode_endpoint
from goflex.cloudio.transport import BrokerAddress, TransportSettings
from goflex.common.clock import SimClock
from goflex.store import Database, ProcessRepository, open_database
from tests.integration.mosquitto import MosquittoBroker
from tests.unit.api.world import EP1, FAST_HASHER, MISSING, NOW, POWER, FakePublisher, auth, client_for, house, seed

pytestmark = [pytest.mark.postgres]

URL = f"/api/v1/history/{EP1}/{POWER}"
WINDOW = {"from": "2026-03-01T10:00:00Z", "to": "2026-03-01T12:00:00Z"}


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    database = open_database(pg_url)
    database.migrate()
    seed(database)
    yield database
    database.close()


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def pg_app(pg_db: Database, publisher: FakePublisher) -> FastAPI:
    clock = SimClock(NOW, speed=0)
    return create_app(db=pg_db, publisher=publisher, clock=clock, password_hasher=FAST_HASHER, login_cache_s=0)


@pytest.fixture
async def client(pg_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(pg_app) as c:
        yield c


async def test_history_resampled_on_postgresql_as_json_and_csv(client: httpx.AsyncClient) -> None:
    params = {**WINDOW, "resampleInterval": "30m", "resampleFunction": "MEAN"}
    as_json = await client.get(URL, params=params, auth=auth("carol"))
    assert as_json.status_code == 200
    assert as_json.json() == [
        {"time": "2026-03-01T10:00:00Z", "value": 12.5},
        {"time": "2026-03-01T10:30:00Z", "value": 42.5},
        {"time": "2026-03-01T11:00:00Z", "value": 72.5},
        {"time": "2026-03-01T11:30:00Z", "value": 102.5},
    ]
    as_csv = await client.get(URL, params=params, headers={"Accept": "text/csv"}, auth=auth("carol"))
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows == [["time", "value"]] + [[p["time"], str(p["value"])] for p in as_json.json()]
    integral = await client.get(
        URL, params={**WINDOW, "resampleInterval": "1h", "resampleFunction": "INTEGRAL"}, auth=auth("carol")
    )
    assert len(integral.json()) == 2
    filled = await client.get(
        URL,
        params={
            "from": "2026-03-01T08:00:00Z",
            "to": "2026-03-01T12:00:00Z",
            "resampleInterval": "1h",
            "resampleFunction": "COUNT",
            "fillValue": "0",
        },
        auth=auth("carol"),
    )
    assert [p["value"] for p in filled.json()] == [0, 0, 12, 12]


async def test_raw_history_truncates_at_max_on_postgresql(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, params={**WINDOW, "max": "10"}, auth=auth("carol"))
    assert [p["value"] for p in response.json()] == [float(m) for m in range(0, 50, 5)]
    assert response.headers["x-goflex-truncated"] == "true"


async def test_put_publishes_and_strangers_get_the_same_404_on_postgresql(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    response = await client.put(
        f"/api/v1/data/{EP1}/gateway/boiler/setpoint/parameter", params={"value": "58.5"}, auth=auth("alice")
    )
    assert response.status_code == 202
    assert [(str(p), a.value, a.timestamp) for p, a in publisher.calls] == [
        (f"{EP1}/gateway/boiler/setpoint/parameter", 58.5, NOW.timestamp())
    ]
    for name in (EP1, MISSING):
        stranger = await client.get(f"/api/v1/history/{name}/{POWER}", auth=auth("bob"))
        assert stranger.status_code == 404
        assert stranger.json() == {"detail": f"endpoint {name!r} not found", "code": "not_found"}


@pytest.mark.mosquitto
async def test_put_reaches_the_endpoint_through_mosquitto(pg_db: Database, mosquitto: MosquittoBroker) -> None:
    endpoint_name = "ep-a"  # has a certificate in the session broker's CA
    process = ProcessRepository(pg_db)
    process.create_endpoint(endpoint_name, "alice")
    process.upsert_endpoint_model(endpoint_name, encode_endpoint(house(endpoint_name)).decode(), NOW - timedelta(1))
    settings = TransportSettings(BrokerAddress(mosquitto.host, mosquitto.port), mosquitto.ssl_context("api"))
    mqtt_publisher = MqttSetPublisher(settings, identity="api")
    app = create_app(db=pg_db, publisher=mqtt_publisher, clock=SimClock(NOW, speed=0), password_hasher=FAST_HASHER)
    device = mosquitto.client(endpoint_name)
    try:
        assert device.connected
        device.subscribe(f"@set/{endpoint_name}/#")
        async with client_for(app) as client:
            response = await client.put(
                f"/api/v1/data/{endpoint_name}/gateway/relay1Control/parameter",
                params={"value": "true"},
                auth=auth("alice"),
            )
        assert response.status_code == 202, response.text
        topic = f"@set/{endpoint_name}/gateway/relay1Control/parameter"
        deadline = time.monotonic() + 5
        while not device.received(topic) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        [(_, payload)] = device.received(topic)
        assert json.loads(payload) == {
            "constraint": "Parameter",
            "type": "Boolean",
            "timestamp": NOW.timestamp(),
            "value": True,
        }
    finally:
        device.close()
        await mqtt_publisher.close()
