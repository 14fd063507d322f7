"""The endpoint SDK against a real Mosquitto 2 with the rendered production configuration (TLS client
certificates, identity as user name and client id, ACL from the grants).

The ``ingest`` identity watches what the endpoint publishes and sends ``@ack``; the ``api`` identity sends
``@set``. The endpoint reaches the broker through a small TCP proxy so a test can cut its link
(offline buffering) while the watcher stays connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt
import pytest

from goflex.cloudio.application import Application, ModelUnavailable
from goflex.cloudio.backoff import Backoff
from goflex.cloudio.endpoint_client import Endpoint
from goflex.cloudio.errors import RejectedPayload, RejectReason
from goflex.cloudio.messages import (
    SEQ_PROPERTY,
    Ack,
    TransactionMessage,
    UpdateMessage,
    decode_attribute,
    decode_endpoint,
    encode_ack,
)
from goflex.cloudio.model import Attribute, AttributePath, EndpointModel, attr, endpoint, node, obj
from goflex.cloudio.model import AttributeType as T
from goflex.cloudio.model import Constraint as C  # noqa: N817 - the model's documented short alias
from goflex.cloudio.transport import ConnectionLost, TransportSettings, make_client, user_properties
from goflex.common import RealClock
from goflex.pki import CertificateKind
from tests.integration.mosquitto import MosquittoBroker, free_port

pytestmark = [pytest.mark.mosquitto]

WATCHER = "ingest"  # pre-issued by the session fixture: reads what endpoints publish, writes @ack/+
COMMANDER = "api"  # pre-issued: writes @set/+/#


def credentials(broker: MosquittoBroker, name: str) -> tuple[Path, Path, Path]:
    """CA, certificate and key of ``name`` (an endpoint certificate is issued on first use)."""
    if not broker.ca.cert_path(name).exists():
        broker.issue(name, CertificateKind.ENDPOINT)
    return broker.ca.ca_cert_path, broker.ca.cert_path(name), broker.ca.key_path(name)


def client_for(broker: MosquittoBroker, name: str, port: int | None = None) -> aiomqtt.Client:
    ca, cert, key = credentials(broker, name)
    url = f"mqtts://{broker.host}:{port or broker.port}"
    return make_client(TransportSettings.from_files(url, ca_file=ca, cert_file=cert, key_file=key), identifier=name)


class Proxy:
    """A TCP relay that can cut every connection and refuse new ones, or stall the open ones (the flaky link)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.up = True
        self.writers: set[asyncio.StreamWriter] = set()
        self.flowing: list[asyncio.Event] = []  # one per connection: cleared, its bytes are held (a black hole)
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        self.writers |= {writer, up_writer}
        flowing = asyncio.Event()
        flowing.set()
        self.flowing.append(flowing)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    await flowing.wait()
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def stall(self) -> None:
        """Hold every byte of the open connections, without closing them (new connections flow)."""
        for flowing in self.flowing:
            flowing.clear()

    def cut(self) -> None:
        self.up = False
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    async def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@dataclass
class Seen:
    topic: str
    payload: bytes
    seq: int | None
    retain: bool
    at: float = field(default_factory=time.monotonic)


class Watcher:
    """An ingest-like client that records what arrives and publishes @ack; ``commander`` publishes @set."""

    def __init__(self, client: aiomqtt.Client, commander: aiomqtt.Client) -> None:
        self.client = client
        self.commander = commander
        self.seen: list[Seen] = []
        self._arrived = asyncio.Condition()

    async def pump(self) -> None:
        async for message in self.client.messages:
            props = user_properties(message)
            seq = int(props[SEQ_PROPERTY]) if SEQ_PROPERTY in props else None
            payload = message.payload if isinstance(message.payload, bytes) else b""
            async with self._arrived:
                self.seen.append(Seen(message.topic.value, payload, seq, bool(message.retain)))
                self._arrived.notify_all()

    async def wait_for(self, predicate: Callable[[list[Seen]], bool], timeout: float = 10.0) -> list[Seen]:
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: predicate(self.seen))
        return self.seen

    def of(self, prefix: str) -> list[Seen]:
        return [m for m in self.seen if m.topic.startswith(prefix)]


@pytest.fixture
async def watcher(mosquitto: MosquittoBroker) -> AsyncIterator[Watcher]:
    async with client_for(mosquitto, WATCHER) as client, client_for(mosquitto, COMMANDER) as commander:
        w = Watcher(client, commander)
        task = asyncio.create_task(w.pump())
        yield w
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def house(name: str) -> EndpointModel:
    return endpoint(
        name,
        {
            "powerMeter-1": node({"wattsTotal": obj(datapoint=attr(C.MEASURE, T.NUMBER))}),
            "gateway": node(
                {
                    "relay1Control": obj(parameter=attr(C.PARAMETER, T.BOOLEAN, False)),
                    "relay1State": obj(datapoint=attr(C.STATUS, T.BOOLEAN)),
                }
            ),
        },
    )


def make_endpoint(
    broker: MosquittoBroker, name: str, tmp_path: Path, *, port: int | None = None, **options: object
) -> Endpoint:
    ca, cert, key = credentials(broker, name)
    return Endpoint(
        house(name),
        broker=f"mqtts://{broker.host}:{port or broker.port}",
        ca_file=ca,
        cert_file=cert,
        key_file=key,
        outbox_path=tmp_path / f"{name}.db",
        clock=RealClock(),
        backoff=Backoff(0.05, 0.5),
        **options,  # type: ignore[arg-type]
    )


def power(name: str) -> AttributePath:
    return AttributePath(name, "powerMeter-1", ("wattsTotal",), "datapoint")


def relay(name: str) -> AttributePath:
    return AttributePath(name, "gateway", ("relay1Control",), "parameter")


async def test_online_is_retained_and_updates_carry_their_sequence(
    mosquitto: MosquittoBroker, watcher: Watcher, tmp_path: Path
) -> None:
    name = "sdk-dc-001"
    async with make_endpoint(mosquitto, name, tmp_path) as ep:
        await ep.wait_connected(10)
        # Subscribing after the fact still gets the model: @online is retained.
        await watcher.client.subscribe(f"@online/{name}", qos=1)
        await watcher.client.subscribe(f"@update/{name}/#", qos=1)
        [online] = await watcher.wait_for(lambda seen: any(m.topic == f"@online/{name}" for m in seen))
        assert online.retain
        assert decode_endpoint(name, online.payload) == house(name)

        assert ep.update(power(name), 1234.5, timestamp=1.7e9) == 1
        assert ep.update(power(name), 1200, timestamp=1.7e9 + 5) == 2
        await watcher.wait_for(lambda seen: len([m for m in seen if m.topic.startswith("@update/")]) == 2)
    updates = watcher.of("@update/")
    # The pilot's long topic form, and the per-endpoint sequence as an MQTT 5 user property.
    assert [m.topic for m in updates] == [
        f"@update/{name}/nodes/powerMeter-1/objects/wattsTotal/attributes/datapoint"
    ] * 2
    assert [m.seq for m in updates] == [1, 2]
    values = [decode_attribute(m.payload) for m in updates]
    assert [(a.value, a.timestamp, a.constraint) for a in values] == [
        (1234.5, 1.7e9, C.MEASURE),
        (1200.0, 1.7e9 + 5, C.MEASURE),
    ]


async def test_update_many_sends_one_update_per_attribute_and_online_carries_the_latest_values(
    mosquitto: MosquittoBroker, watcher: Watcher, tmp_path: Path
) -> None:
    name = "sdk-dc-002"
    state = AttributePath(name, "gateway", ("relay1State",), "datapoint")
    async with make_endpoint(mosquitto, name, tmp_path) as ep:
        await ep.wait_connected(10)
        await watcher.client.subscribe(f"@update/{name}/#", qos=1)
        await asyncio.sleep(0.2)
        assert ep.update_many([(power(name), 10.0), (state, False)], timestamp=1.7e9) == [1, 2]
        with pytest.raises(RejectedPayload):
            ep.update_many([(power(name), 11.0), (relay(name), True)])  # a parameter: nothing is stored
        assert ep.outbox.next_seq == 3
        await watcher.wait_for(lambda seen: len([m for m in seen if m.topic.startswith("@update/")]) == 2)
        # The model the endpoint announces (@online after a reconnect) holds the latest values.
        assert ep.model.attribute(power(name)).value == 10.0
        assert ep.model.attribute(state).value is False
    updates = watcher.of("@update/")
    assert [(m.topic.split("/")[3], m.seq) for m in updates] == [("powerMeter-1", 1), ("gateway", 2)]


async def set_command(watcher: Watcher, path: AttributePath, value: object, timestamp: float) -> None:
    attribute = f'{{"constraint":"Parameter","type":"Boolean","timestamp":{timestamp},"value":{value}}}'
    await watcher.commander.publish(f"@set/{path.long()}", attribute.encode(), qos=1)


async def test_set_reaches_the_handler_and_is_confirmed_with_did_set(
    mosquitto: MosquittoBroker, watcher: Watcher, tmp_path: Path
) -> None:
    name = "sdk-dc-002"
    calls: list[tuple[AttributePath, Attribute]] = []

    async def on_set(path: AttributePath, attribute: Attribute) -> None:
        calls.append((path, attribute))

    await watcher.client.subscribe(f"@didSet/{name}/#", qos=1)
    async with make_endpoint(mosquitto, name, tmp_path, on_set=on_set) as ep:
        await ep.wait_connected(10)
        now = time.time()
        await set_command(watcher, relay(name), "true", now)
        await watcher.wait_for(lambda seen: any(m.topic.startswith("@didSet/") for m in seen))
        assert calls == [(relay(name), Attribute(C.PARAMETER, T.BOOLEAN, now, True))]
        assert ep.model.attribute(relay(name)).value is True

        # Stale: same and older timestamps are ignored (cloudio.md), the handler is not called again.
        await set_command(watcher, relay(name), "false", now)
        await set_command(watcher, relay(name), "false", now - 10)
        # Wrong type and wrong constraint are rejected and counted; the endpoint keeps serving.
        await set_command(watcher, relay(name), '"on"', now + 1)
        await watcher.commander.publish(
            f"@set/{power(name).long()}",
            b'{"constraint":"Measure","type":"Number","timestamp":%f,"value":1.0}' % (now + 1),
            qos=1,
        )
        # The seed's short command form {"timestamp", "value": 0/1} still works afterwards.
        await watcher.commander.publish(f"@set/{relay(name).long()}", b'{"timestamp":%f,"value":0}' % (now + 2), qos=1)
        await watcher.wait_for(lambda seen: len([m for m in seen if m.topic.startswith("@didSet/")]) == 2)
        stats = ep.stats()
    assert (stats.stale_sets, stats.rejected_sets, stats.handler_errors) == (2, 2, 0)
    assert [a.value for _, a in calls] == [True, False]
    did_sets = watcher.of("@didSet/")
    assert [decode_attribute(m.payload).value for m in did_sets] == [True, False]
    assert all(m.seq is not None for m in did_sets)  # @didSet is data: it goes through the outbox too


async def test_a_failing_handler_is_counted_and_does_not_stop_the_endpoint(
    mosquitto: MosquittoBroker, watcher: Watcher, tmp_path: Path
) -> None:
    name = "sdk-dc-003"

    def on_set(path: AttributePath, attribute: Attribute) -> None:
        raise RuntimeError("relay driver failed")

    await watcher.client.subscribe(f"@update/{name}/#", qos=1)
    async with make_endpoint(mosquitto, name, tmp_path, on_set=on_set) as ep:
        await ep.wait_connected(10)
        await set_command(watcher, relay(name), "true", time.time())
        async with asyncio.timeout(10):
            while ep.stats().handler_errors == 0:
                await asyncio.sleep(0.02)
        ep.update(power(name), 5.0)
        await watcher.wait_for(lambda seen: any(m.topic.startswith("@update/") for m in seen))
        assert ep.stats().connected


async def test_offline_updates_are_buffered_and_drained_oldest_first_while_live_data_flows(
    mosquitto: MosquittoBroker, watcher: Watcher, tmp_path: Path
) -> None:
    name = "sdk-dc-004"
    await watcher.client.subscribe(f"@update/{name}/#", qos=1)
    proxy = Proxy(mosquitto.port)
    await proxy.start()
    rate, backlog = 20.0, 60
    try:
        async with make_endpoint(mosquitto, name, tmp_path, port=proxy.port, backfill_rate_per_s=rate) as ep:
            await ep.wait_connected(10)
            ep.update(power(name), 0.0)
            await watcher.wait_for(lambda seen: len(seen) == 1)

            proxy.cut()
            async with asyncio.timeout(10):
                while ep.connected:
                    await asyncio.sleep(0.01)
            for i in range(backlog):
                ep.update(power(name), float(i + 1))
            assert ep.stats().backlog == backlog + 1
            assert not ep.stats().connected

            proxy.up = True
            await ep.wait_connected(10)
            reconnected = time.monotonic()
            await asyncio.sleep(0.5)
            live_seq = ep.update(power(name), -1.0)
            await watcher.wait_for(lambda seen: len({m.seq for m in seen}) == backlog + 2, timeout=12)
            stats = ep.stats()
    finally:
        await proxy.close()
    by_seq = {m.seq: m for m in watcher.seen}
    drained = [m.seq for m in watcher.seen if m.seq is not None and 2 <= m.seq <= backlog + 1]
    assert drained == list(range(2, backlog + 2)), "the backlog must drain oldest-first"
    # Live data is not stuck behind the backlog: it arrives while older entries are still draining ...
    assert by_seq[live_seq].at < by_seq[backlog + 1].at
    assert by_seq[live_seq].at - reconnected < 2.0
    # ... and the backlog is paced at the capped rate (one burst of `rate` messages, then `rate` per second).
    assert by_seq[backlog + 1].at - reconnected >= 0.8 * (backlog - rate) / rate
    assert stats.reconnects == 1
    assert stats.backlog == backlog + 2  # nothing was acknowledged: everything stays in the outbox


async def test_acks_shrink_the_outbox_and_resend_requests_are_honoured(
    mosquitto: MosquittoBroker, watcher: Watcher, tmp_path: Path
) -> None:
    name = "sdk-dc-005"
    await watcher.client.subscribe(f"@update/{name}/#", qos=1)
    async with make_endpoint(mosquitto, name, tmp_path, resend_after_s=1.0) as ep:
        await ep.wait_connected(10)
        seqs = [ep.update(power(name), float(i)) for i in range(10)]
        await watcher.wait_for(lambda seen: len(seen) == 10)
        assert ep.outbox.pending_count == 10

        # Ingest stored 1..8 and noticed 3 missing: ack what it has, ask for 3 again.
        ack = Ack.from_sequences([s for s in seqs[:8] if s != 3], resend=[3])
        await watcher.client.publish(f"@ack/{name}", encode_ack(ack), qos=1)
        await watcher.wait_for(lambda seen: [m.seq for m in seen].count(3) == 2, timeout=5)
        assert ep.outbox.pending_count == 3  # 3, 9, 10

        # 9 and 10 stay unconfirmed past resend_after_s: they are sent again without being asked.
        await watcher.wait_for(lambda seen: [m.seq for m in seen].count(10) >= 2, timeout=5)
        await watcher.client.publish(f"@ack/{name}", encode_ack(Ack.from_sequences([3, 9, 10])), qos=1)
        async with asyncio.timeout(5):
            while ep.outbox.pending_count:
                await asyncio.sleep(0.02)
        stats = ep.stats()
    assert stats.acked == 10
    assert stats.resent >= 3
    assert stats.backlog == 0
    # Sequence numbers survive a restart of the endpoint even with an empty outbox.
    async with make_endpoint(mosquitto, name, tmp_path) as again:
        assert again.update(power(name), 1.0) == 11


async def test_flush_waits_for_the_last_acks_and_gives_up_at_its_deadline(
    mosquitto: MosquittoBroker, watcher: Watcher, tmp_path: Path
) -> None:
    name = "sdk-dc-009"
    await watcher.client.subscribe(f"@update/{name}/#", qos=1)
    async with make_endpoint(mosquitto, name, tmp_path) as ep:
        await ep.wait_connected(10)
        seqs = [ep.update(power(name), float(i)) for i in range(3)]
        await watcher.wait_for(lambda seen: len(seen) == 3)
        started = time.monotonic()
        assert await ep.flush(0.3) is False  # nobody confirms: the flush ends at its deadline
        assert time.monotonic() - started >= 0.3
        assert ep.outbox.pending_count == 3

        async def confirm_later() -> None:
            await asyncio.sleep(0.2)
            await watcher.client.publish(f"@ack/{name}", encode_ack(Ack.from_sequences(seqs)), qos=1)

        confirming = asyncio.create_task(confirm_later())
        assert await ep.flush(10.0) is True
        assert ep.outbox.pending_count == 0
        await confirming
    # not connected (no broker behind the port): nothing can be confirmed, the flush does not wait
    async with make_endpoint(mosquitto, "sdk-dc-010", tmp_path, port=free_port()) as lonely:
        lonely.update(power("sdk-dc-010"), 1.0)
        started = time.monotonic()
        assert await lonely.flush(10.0) is False
        assert time.monotonic() - started < 1.0


async def test_failed_connection_attempts_leak_no_file_descriptors(mosquitto: MosquittoBroker) -> None:
    # A link that accepts TCP and drops it at once (a broker restarting, a captive firewall): the gateway retries
    # for hours, so each failed TLS handshake must give its descriptor back at once (R5).
    proxy = Proxy(mosquitto.port)
    await proxy.start()
    proxy.up = False
    try:
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(20):
            with pytest.raises(aiomqtt.MqttError):
                async with client_for(mosquitto, "sdk-dc-006", port=proxy.port):
                    pass
        assert len(os.listdir("/proc/self/fd")) <= before + 2
    finally:
        await proxy.close()


def make_application(broker: MosquittoBroker, name: str, *, port: int | None = None) -> Application:
    ca, cert, key = credentials(broker, name)
    return Application(
        name,
        broker=f"mqtts://{broker.host}:{port or broker.port}",
        ca_file=ca,
        cert_file=cert,
        key_file=key,
        clock=RealClock(),
        backoff=Backoff(0.05, 0.5),
    )


async def test_application_reads_updates_and_commands_an_endpoint(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    name = "sdk-dc-007"
    applied: list[tuple[AttributePath, Attribute]] = []
    state = AttributePath(name, "gateway", ("relay1State",), "datapoint")
    # "ingest" may read every endpoint's data; "api" may only write @set (the session's production ACL).
    async with (
        make_endpoint(mosquitto, name, tmp_path, on_set=lambda p, a: applied.append((p, a))) as ep,
        make_application(mosquitto, WATCHER) as reader,
        make_application(mosquitto, COMMANDER) as commander,
    ):
        await ep.wait_connected(10)
        updates = reader.subscribe(f"@update/{name}/#", f"@transaction/{name}")
        await updates.wait_ready(10)
        assert await reader.model(name) == house(name)  # from the retained @online

        ep.update(power(name), 42.0, timestamp=1.7e9)
        ep.transaction([(power(name), 43.0), (state, True)], timestamp=1.7e9 + 1)
        first, second = await updates.get(5), await updates.get(5)
        assert isinstance(first, UpdateMessage)
        assert (first.path, first.attribute.value, first.attribute.timestamp) == (power(name), 42.0, 1.7e9)
        assert isinstance(second, TransactionMessage)
        assert [(p, a.value) for p, a in second.items] == [(power(name), 43.0), (state, True)]

        sent = await commander.set(relay(name), True, constraint=C.PARAMETER, type_=T.BOOLEAN)
        async with asyncio.timeout(5):
            while not applied:
                await asyncio.sleep(0.02)
        assert applied == [(relay(name), sent)]
        assert ep.model.attribute(relay(name)).value is True

        # With the model known, set() checks before sending: a Measure is not settable, types are strict.
        with pytest.raises(RejectedPayload) as not_settable:
            await reader.set(power(name), 1.0)
        assert not_settable.value.reason is RejectReason.CONSTRAINT
        with pytest.raises(RejectedPayload) as wrong_type:
            await reader.set(relay(name), "on")
        assert wrong_type.value.reason is RejectReason.WRONG_TYPE
        with pytest.raises(ModelUnavailable):
            await commander.model("sdk-dc-404", timeout_s=0.3)


async def test_an_unconfirmed_set_is_sent_again_on_a_new_connection(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    """A link that swallows the @set (half-open: no reset, no PUBACK) costs one timeout, not the command."""
    name = "sdk-dc-008"
    applied: list[tuple[AttributePath, Attribute]] = []
    proxy = Proxy(mosquitto.port)
    await proxy.start()
    try:
        async with (
            make_endpoint(mosquitto, name, tmp_path, on_set=lambda p, a: applied.append((p, a))) as ep,
            make_application(mosquitto, COMMANDER, port=proxy.port) as commander,
        ):
            await ep.wait_connected(10)
            await commander.wait_connected(10)
            proxy.stall()
            started = time.monotonic()
            sent = await commander.set(relay(name), True, constraint=C.PARAMETER, type_=T.BOOLEAN, timeout_s=1.0)
            assert 1.0 <= time.monotonic() - started < 8.0
            assert commander.unconfirmed_sets == 1
            async with asyncio.timeout(5):
                while not applied:
                    await asyncio.sleep(0.02)
            assert applied == [(relay(name), sent)]
            # the first copy, released late, is not newer than the attribute: ignored by the endpoint
            for flowing in proxy.flowing:
                flowing.set()
            await asyncio.sleep(0.5)
            assert applied == [(relay(name), sent)]
            assert ep.model.attribute(relay(name)).value is True

            # a link that stays dead: the attempt times out, the reconnection is refused, the caller is told
            proxy.stall()
            proxy.up = False
            with pytest.raises(ConnectionLost, match="not connected"):
                await commander.set(relay(name), False, constraint=C.PARAMETER, type_=T.BOOLEAN, timeout_s=0.5)
    finally:
        await proxy.close()
