"""End to end through ``goflex serve``'s :class:`Platform`: endpoint -> broker -> ingest -> database -> HTTP API, and
API -> ``@set`` -> endpoint handler -> ``@didSet`` -> history (issue 2, section 9).

Every test runs on both brokers, the real Mosquitto with the rendered production configuration and the embedded
one, so that what a newcomer sees on a laptop is what a utility gets in production. The database is SQLite and,
where it costs little, PostgreSQL too. The endpoint is the SDK's :class:`Endpoint` with the pilot's Direct
Control model (seed Appendix 4 names).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest

from goflex.broker.embedded import EmbeddedBroker, platform_authorizer, ssl_context_from_pki
from goflex.cloudio.backoff import Backoff
from goflex.cloudio.endpoint_client import Endpoint
from goflex.cloudio.messages import encode_attribute, encode_endpoint, encode_transaction
from goflex.cloudio.model import Attribute, AttributePath, AttributeType, Constraint
from goflex.cloudio.transport import TransportSettings, make_client
from goflex.common import RealClock
from goflex.gateway import direct_control_model
from goflex.pki import CertificateAuthority, CertificateKind
from goflex.serve import Platform

PASSWORD = "e2e-admin-password"
POWER = "powerMeter-1/wattsTotal/datapoint"
TEMPERATURE = "boilerSensor-1/temperature/datapoint"
RELAY_STATE = "gateway/relay1State/datapoint"
RELAY_CONTROL = "gateway/relay1Control/parameter"
WAIT_S = 15.0

# The Mosquitto fixture lives for the whole session and keeps retained messages: every test gets fresh names.
_numbers = itertools.count(100)


def fresh_names(count: int) -> list[str]:
    return [f"goflex-dc-{next(_numbers):03d}" for _ in range(count)]


@dataclass
class BrokerUnderTest:
    """A running broker: its URL and the CA directory holding the identities it accepts."""

    url: str
    pki: Path

    def issue(self, name: str) -> None:
        if not (self.pki / f"{name}.crt").is_file():
            CertificateAuthority.load(self.pki).issue(name, CertificateKind.ENDPOINT)


@pytest.fixture(
    params=[
        pytest.param("mosquitto", marks=pytest.mark.mosquitto),
        pytest.param("embedded"),
    ]
)
async def broker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BrokerUnderTest]:
    if request.param == "mosquitto":
        mosquitto = request.getfixturevalue("mosquitto")
        yield BrokerUnderTest(f"mqtts://{mosquitto.host}:{mosquitto.port}", mosquitto.pki_dir)
        return
    pki = tmp_path / "pki"
    CertificateAuthority.init(pki).issue("broker", CertificateKind.SERVER)  # a fresh CA per test
    embedded = EmbeddedBroker(port=0, ssl_context=ssl_context_from_pki(pki, "broker"), authorizer=platform_authorizer())
    async with embedded:
        yield BrokerUnderTest(f"mqtts://localhost:{embedded.port}", pki)


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'goflex.db'}"


@pytest.fixture(params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return _sqlite(tmp_path)


@dataclass
class Setup:
    """A started platform on a broker, an admin HTTP client, and factories for endpoints and raw clients."""

    broker: BrokerUnderTest
    platform: Platform
    http: httpx.AsyncClient
    tmp: Path
    stack: contextlib.AsyncExitStack
    sets: dict[str, list[tuple[AttributePath, Attribute]]] = field(default_factory=dict)

    async def endpoint(self, name: str) -> Endpoint:
        """A connected Direct Control endpoint whose ``@set`` handler records into ``self.sets[name]``."""
        self.broker.issue(name)
        received = self.sets.setdefault(name, [])

        def on_set(path: AttributePath, attribute: Attribute) -> None:
            received.append((path, attribute))

        pki = self.broker.pki
        endpoint = Endpoint(
            direct_control_model(name),
            broker=self.broker.url,
            ca_file=pki / "ca.crt",
            cert_file=pki / f"{name}.crt",
            key_file=pki / f"{name}.key",
            outbox_path=self.tmp / f"{name}.outbox.db",
            clock=RealClock(),
            on_set=on_set,
            backoff=Backoff(0.05, 0.5),
        )
        await self.stack.enter_async_context(endpoint)
        await endpoint.wait_connected(WAIT_S)
        # The platform knows the endpoint once ingest has stored its @online model.
        await until(lambda: self._known(name), "the platform to store the endpoint's @online model")
        return endpoint

    async def _known(self, name: str) -> bool:
        return (await self.http.get(f"/data/{name}")).status_code == 200

    async def raw_client(self, name: str) -> aiomqtt.Client:
        """A plain MQTT 5 client holding ``name``'s certificate (an endpoint that does not follow the rules)."""
        self.broker.issue(name)
        pki = self.broker.pki
        settings = TransportSettings.from_files(
            self.broker.url, ca_file=pki / "ca.crt", cert_file=pki / f"{name}.crt", key_file=pki / f"{name}.key"
        )
        return await self.stack.enter_async_context(make_client(settings, identifier=name))

    async def history(self, name: str, path: str) -> list[dict[str, Any]]:
        response = await self.http.get(f"/history/{name}/{path}")
        assert response.status_code == 200, response.text
        points: list[dict[str, Any]] = response.json()
        return points

    async def last(self, name: str, path: str) -> dict[str, Any]:
        response = await self.http.get(f"/data/{name}/{path}")
        assert response.status_code == 200, response.text
        attribute: dict[str, Any] = response.json()
        return attribute


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)


async def start_setup(broker: BrokerUnderTest, db_url: str, tmp_path: Path) -> AsyncIterator[Setup]:
    platform = Platform(db_url=db_url, broker_url=broker.url, pki_dir=broker.pki, api_port=0, admin_password=PASSWORD)
    await platform.start()
    try:
        async with (
            contextlib.AsyncExitStack() as stack,
            httpx.AsyncClient(base_url=platform.api_url, auth=("admin", PASSWORD), timeout=10) as http,
        ):
            yield Setup(broker, platform, http, tmp_path, stack)
    finally:
        await platform.stop()


@pytest.fixture
async def setup(broker: BrokerUnderTest, db_url: str, tmp_path: Path) -> AsyncIterator[Setup]:
    async for value in start_setup(broker, db_url, tmp_path):
        yield value


@pytest.fixture
async def sqlite_setup(broker: BrokerUnderTest, tmp_path: Path) -> AsyncIterator[Setup]:
    async for value in start_setup(broker, _sqlite(tmp_path), tmp_path):
        yield value


async def test_published_values_are_stored_and_served_by_the_api(setup: Setup) -> None:
    (name,) = fresh_names(1)
    endpoint = await setup.endpoint(name)
    t0 = time.time()
    endpoint.transaction([(f"{name}/{POWER}", 1234.5), (f"{name}/{RELAY_STATE}", True)], timestamp=t0)
    endpoint.update(f"{name}/{TEMPERATURE}", 55.25, timestamp=t0 + 1)

    async def stored() -> bool:
        return bool(await setup.history(name, TEMPERATURE))

    await until(stored, "the update to reach the history")
    await until(lambda: _has_history(setup, name, POWER), "the transaction to reach the history")
    assert [p["value"] for p in await setup.history(name, POWER)] == [1234.5]
    assert [p["value"] for p in await setup.history(name, RELAY_STATE)] == [True]
    assert [p["value"] for p in await setup.history(name, TEMPERATURE)] == [55.25]
    # The long form of the pilot's paths answers the same.
    long_path = "nodes/boilerSensor-1/objects/temperature/attributes/datapoint"
    assert [p["value"] for p in await setup.history(name, long_path)] == [55.25]

    temperature = await setup.last(name, TEMPERATURE)
    assert (temperature["constraint"], temperature["type"], temperature["value"]) == ("Measure", "Number", 55.25)
    assert temperature["timestamp"] == pytest.approx(t0 + 1, abs=1e-3)
    whole = (await setup.http.get(f"/data/{name}")).json()
    assert whole["online"] is True
    assert whole["nodes"]["powerMeter-1"]["objects"]["wattsTotal"]["attributes"]["datapoint"]["value"] == 1234.5

    async def acked() -> bool:  # the outbox releases only what ingest confirmed as stored
        return endpoint.stats().backlog == 0

    await until(acked, "ingest's @ack to empty the outbox")
    assert endpoint.stats().acked == 2


async def _has_history(setup: Setup, name: str, path: str) -> bool:
    response = await setup.http.get(f"/history/{name}/{path}")
    return response.status_code == 200 and bool(response.json())  # 404 until ingest has stored @online


async def test_put_reaches_the_endpoint_handler_and_did_set_is_stored(setup: Setup) -> None:
    (name,) = fresh_names(1)
    endpoint = await setup.endpoint(name)
    assert (await setup.last(name, RELAY_CONTROL))["value"] is True  # the pilot's default: heating enabled

    response = await setup.http.put(f"/data/{name}/{RELAY_CONTROL}", params={"value": "false"})
    assert response.status_code == 202, response.text

    async def handled() -> bool:
        return bool(setup.sets[name])

    await until(handled, "the endpoint's on_set handler")
    ((path, attribute),) = setup.sets[name]
    assert (str(path), attribute.value) == (f"{name}/{RELAY_CONTROL}", False)
    assert endpoint.model.attribute(path).value is False

    async def did_set_stored() -> bool:
        return [p["value"] for p in await setup.history(name, RELAY_CONTROL)] == [False]

    await until(did_set_stored, "the @didSet to reach the history")
    assert (await setup.last(name, RELAY_CONTROL))["value"] is False

    async def acked() -> bool:
        return endpoint.stats().backlog == 0

    await until(acked, "ingest's @ack of the @didSet to empty the outbox")


async def test_s1_an_endpoint_cannot_publish_into_another_endpoints_topics(sqlite_setup: Setup) -> None:
    setup = sqlite_setup
    victim_name, attacker_name = fresh_names(2)
    victim = await setup.endpoint(victim_name)
    victim.update(f"{victim_name}/{POWER}", 100.0)
    await until(lambda: _has_history(setup, victim_name, POWER), "the victim's own value")
    history_before = await setup.history(victim_name, POWER)
    last_before = await setup.last(victim_name, POWER)
    model_before = (await setup.http.get(f"/data/{victim_name}")).json()

    attacker = await setup.raw_client(attacker_name)
    await attacker.publish(f"@online/{attacker_name}", encode_endpoint(direct_control_model(attacker_name)), qos=1)
    forged_model = direct_control_model(victim_name).without_node("gateway")
    power = AttributePath.parse(f"{victim_name}/{POWER}")
    forged = encode_attribute(_measure(666.0))
    forgeries = [
        (f"@update/{victim_name}/nodes/powerMeter-1/objects/wattsTotal/attributes/datapoint", forged),
        (f"@update/{victim_name}/{POWER}", forged),
        (f"@transaction/{victim_name}", encode_transaction([(power, _measure(667.0))])),
        (f"@online/{victim_name}", encode_endpoint(forged_model)),
        (f"@set/{victim_name}/nodes/gateway/objects/relay1Control/attributes/parameter", _parameter(False)),
    ]
    for topic, payload in forgeries:
        with contextlib.suppress(aiomqtt.MqttError):  # MQTT 5 brokers may answer "not authorized"
            await attacker.publish(topic, payload, qos=1)
    # Positive control on the same connection, after the forgeries: once this is stored, they were processed.
    own = f"@update/{attacker_name}/nodes/powerMeter-1/objects/wattsTotal/attributes/datapoint"
    await attacker.publish(own, encode_attribute(_measure(42.0)), qos=1)
    await until(lambda: _has_history(setup, attacker_name, POWER), "the attacker's own (allowed) update")
    await asyncio.sleep(0.5)  # ingest writes in batches: give a forgery the same chance to land

    assert await setup.history(victim_name, POWER) == history_before
    assert await setup.last(victim_name, POWER) == last_before
    assert (await setup.http.get(f"/data/{victim_name}")).json() == model_before
    assert setup.sets[victim_name] == []  # the forged @set never reached the victim
    assert victim.stats().rejected_sets == 0


def _measure(value: float) -> Attribute:
    return Attribute(Constraint.MEASURE, AttributeType.NUMBER, time.time(), value)


def _parameter(value: bool) -> bytes:
    return encode_attribute(Attribute(Constraint.PARAMETER, AttributeType.BOOLEAN, time.time(), value))
