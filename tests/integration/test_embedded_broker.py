"""The embedded broker against real paho-mqtt 2 clients over mutual TLS (and raw packets where paho is too polite).

The broker runs on its own event loop in a background thread, like it does inside ``goflex demo``; the tests
drive blocking paho clients. Security assertions follow reliability.md: what matters is what is *delivered*.
"""

from __future__ import annotations

import asyncio
import queue
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from goflex.broker.acl import AccessPolicy, api_grants, ingest_grants
from goflex.broker.embedded import AccessPolicyAuthorizer, EmbeddedBroker, ssl_context_from_pki
from goflex.broker.embedded.codec import StreamDecoder, encode
from goflex.broker.embedded.packets import (
    MQTT_5,
    ConnAck,
    Connect,
    Disconnect,
    PacketType,
    PubAck,
    Publish,
    Subscribe,
    Subscription,
    Will,
)
from goflex.broker.embedded.properties import PropertyId
from goflex.pki import CertificateAuthority, CertificateKind
from goflex.pki.testing import foreign_authority

T = TypeVar("T")
PROTOCOLS = [pytest.param(mqtt.MQTTv311, id="mqtt311"), pytest.param(mqtt.MQTTv5, id="mqtt5")]
NOT_AUTHORIZED = 135


@dataclass(frozen=True)
class Pki:
    directory: Path
    foreign: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = CertificateAuthority.init(directory)
    ca.issue("broker", CertificateKind.SERVER)
    for service in ("ingest", "ingest-2", "api"):
        ca.issue(service, CertificateKind.SERVICE)
    for endpoint in ("ep-a", "ep-b"):
        ca.issue(endpoint, CertificateKind.ENDPOINT)
    foreign_dir = tmp_path_factory.mktemp("foreign")
    foreign_authority(foreign_dir).issue("ep-a", CertificateKind.ENDPOINT)
    return Pki(directory, foreign_dir)


class BrokerThread:
    """An :class:`EmbeddedBroker` on its own event loop in a daemon thread."""

    def __init__(self, pki: Pki, **options: Any) -> None:
        grants = [*ingest_grants("ingest"), *ingest_grants("ingest-2"), *api_grants("api")]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.broker = EmbeddedBroker(
            ssl_context=ssl_context_from_pki(pki.directory),
            authorizer=AccessPolicyAuthorizer(AccessPolicy(grants)),
            **options,
        )

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=15)

    def __enter__(self) -> EmbeddedBroker:
        self.thread.start()
        self.run(self.broker.start())
        return self.broker

    def __exit__(self, *exc: object) -> None:
        self.run(self.broker.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class Client:
    """A blocking paho-mqtt 2 client with a certificate from the test PKI."""

    def __init__(
        self,
        port: int,
        cert_dir: Path,
        name: str,
        *,
        ca_dir: Path | None = None,
        protocol: int = mqtt.MQTTv5,
        client_id: str | None = None,
        persistent: bool = False,
    ) -> None:
        self.port = port
        self.protocol = protocol
        self.persistent = persistent
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id if client_id is not None else name,
            protocol=protocol,
            clean_session=None if protocol == mqtt.MQTTv5 else not persistent,
            reconnect_on_failure=False,
        )
        ca = (ca_dir or cert_dir) / "ca.crt"
        self.client.tls_set(str(ca), str(cert_dir / f"{name}.crt"), str(cert_dir / f"{name}.key"))
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.connect_reason: mqtt.ReasonCode | None = None
        self.connect_properties: Properties | None = None
        self.session_present = False
        self.disconnect_reason: mqtt.ReasonCode | None = None
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.acks: dict[int, threading.Event] = {}
        self.ack_codes: dict[int, mqtt.ReasonCode] = {}
        self.suback: queue.Queue[list[mqtt.ReasonCode]] = queue.Queue()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = lambda _c, _u, m: self.messages.put(m)
        self.client.on_subscribe = lambda _c, _u, _mid, codes, _p: self.suback.put(list(codes))
        self.client.on_publish = self._on_publish

    def _on_connect(self, _c: object, _u: object, flags: Any, reason: mqtt.ReasonCode, props: Properties) -> None:
        self.connect_reason = reason
        self.connect_properties = props
        self.session_present = bool(flags.session_present)
        if not reason.is_failure:
            self.connected.set()

    def _on_disconnect(self, _c: object, _u: object, _f: object, reason: mqtt.ReasonCode, _p: object) -> None:
        self.disconnect_reason = reason
        self.disconnected.set()

    def _on_publish(self, _c: object, _u: object, mid: int, reason: mqtt.ReasonCode, _p: object) -> None:
        self.ack_codes[mid] = reason
        self.acks.setdefault(mid, threading.Event()).set()

    def connect(self, *, will: tuple[str, bytes] | None = None, keepalive: int = 30, timeout_s: float = 5.0) -> bool:
        if will is not None:
            self.client.will_set(will[0], will[1], qos=1)
        properties = None
        if self.protocol == mqtt.MQTTv5 and self.persistent:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 3600
        clean_start: Any = (not self.persistent) if self.protocol == mqtt.MQTTv5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY
        self.client.connect_async("127.0.0.1", self.port, keepalive, clean_start=clean_start, properties=properties)
        self.client.loop_start()
        return self.connected.wait(timeout_s)

    def subscribe(self, topic_filter: str, qos: int = 1) -> list[int]:
        self.client.subscribe(topic_filter, qos)
        return [code.value for code in self.suback.get(timeout=5)]

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False, props: Any = None) -> int:
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        if qos == 0:
            return 0
        event = self.acks.setdefault(info.mid, threading.Event())
        assert event.wait(5), f"no acknowledgement for {topic}"
        return int(self.ack_codes[info.mid].value)

    def receive(self, count: int, timeout_s: float = 5.0) -> list[mqtt.MQTTMessage]:
        deadline = time.monotonic() + timeout_s
        out = []
        while len(out) < count:
            out.append(self.messages.get(timeout=max(0.01, deadline - time.monotonic())))
        return out

    def quiet(self, seconds: float = 0.5) -> list[mqtt.MQTTMessage]:
        """Whatever arrives within ``seconds`` (expected: nothing)."""
        time.sleep(seconds)
        out = []
        while not self.messages.empty():
            out.append(self.messages.get_nowait())
        return out

    def disconnect(self) -> None:
        self.client.disconnect()
        self.disconnected.wait(5)
        self.client.loop_stop()

    def kill(self) -> None:
        """Drop the connection without DISCONNECT (a crashed gateway)."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()


@pytest.fixture
def broker(pki: Pki) -> Iterator[EmbeddedBroker]:
    with BrokerThread(pki) as running:
        yield running


@pytest.fixture
def connect(broker: EmbeddedBroker, pki: Pki) -> Iterator[Any]:
    opened: list[Client] = []

    def factory(name: str, *, will: tuple[str, bytes] | None = None, **kwargs: Any) -> Client:
        client = Client(broker.port, pki.directory, name, **kwargs)
        opened.append(client)
        assert client.connect(will=will), f"{name} could not connect: {client.connect_reason}"
        return client

    yield factory
    for client in opened:
        client.client.disconnect()
        client.client.loop_stop()


class RawClient:
    """A TLS socket speaking MQTT 5 packets from the codec, for what paho will not do."""

    def __init__(self, port: int, cert_dir: Path, name: str | None, *, ca_dir: Path | None = None) -> None:
        context = ssl.create_default_context(cafile=str((ca_dir or cert_dir) / "ca.crt"))
        if name is not None:
            context.load_cert_chain(str(cert_dir / f"{name}.crt"), str(cert_dir / f"{name}.key"))
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.tls = context.wrap_socket(sock, server_hostname="127.0.0.1")
        self.decoder = StreamDecoder(protocol_level=MQTT_5)

    def send(self, packet: Any) -> None:
        self.tls.sendall(encode(packet, MQTT_5))

    def read(self) -> Any:
        """The next packet, or None when the broker closed the connection."""
        while (packet := self.decoder.next_packet()) is None:
            try:
                data = self.tls.recv(65536)
            except (ConnectionError, ssl.SSLError):
                return None
            if not data:
                return None
            self.decoder.feed(data)
        return packet

    def close(self) -> None:
        self.tls.close()


def _seq(value: int) -> Properties:
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("goflex-seq", str(value))]
    props.ContentType = "application/json"
    props.PayloadFormatIndicator = 1
    return props


# -- publish / subscribe ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_qos0_and_qos1_messages_reach_a_subscriber(connect: Any, protocol: int) -> None:
    ingest = connect("ingest", protocol=protocol)
    assert ingest.subscribe("@update/+/#") == [1]
    endpoint = connect("ep-a", protocol=protocol)
    endpoint.publish("@update/ep-a/n/o/a", b"q0", qos=0)
    assert endpoint.publish("@update/ep-a/n/o/a", b"q1", qos=1) == 0
    got = ingest.receive(2)
    assert [(m.topic, m.payload, m.qos) for m in got] == [
        ("@update/ep-a/n/o/a", b"q0", 0),
        ("@update/ep-a/n/o/a", b"q1", 1),
    ]


def test_user_properties_reach_an_mqtt5_subscriber_and_not_an_mqtt311_one(connect: Any) -> None:
    v5 = connect("ingest")
    v3 = connect("ingest-2", protocol=mqtt.MQTTv311)
    v5.subscribe("@update/+/#")
    v3.subscribe("@update/+/#")
    connect("ep-a").publish("@update/ep-a/n/o/a", b"{}", props=_seq(42))
    message = v5.receive(1)[0]
    assert message.properties.UserProperty == [("goflex-seq", "42")]
    assert message.properties.ContentType == "application/json"
    assert message.properties.PayloadFormatIndicator == 1
    assert v3.receive(1)[0].payload == b"{}"


def test_retained_message_goes_to_later_subscribers_until_cleared(connect: Any) -> None:
    endpoint = connect("ep-a")
    endpoint.publish("@online/ep-a", b"model", retain=True)
    first = connect("ingest")
    first.subscribe("@online/+")
    message = first.receive(1)[0]
    assert (message.payload, message.retain) == (b"model", True)
    endpoint.publish("@online/ep-a", b"", retain=True)
    second = connect("ingest-2")
    second.subscribe("@online/+")
    assert second.quiet() == []


def test_will_is_published_on_abrupt_close_only(connect: Any) -> None:
    ingest = connect("ingest")
    ingest.subscribe("@offline/+")
    crashed = connect("ep-a", will=("@offline/ep-a", b"gone"))
    crashed.kill()
    assert ingest.receive(1)[0].payload == b"gone"
    polite = connect("ep-b", will=("@offline/ep-b", b"gone"))
    polite.disconnect()
    assert ingest.quiet() == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_persistent_session_receives_queued_messages_after_reconnect(
    connect: Any, broker: EmbeddedBroker, pki: Pki, protocol: int
) -> None:
    ingest = connect("ingest", protocol=protocol, persistent=True)
    ingest.subscribe("@update/+/#")
    ingest.disconnect()
    endpoint = connect("ep-a", protocol=protocol)
    for i in range(5):
        endpoint.publish("@update/ep-a/n/o/a", str(i).encode())
    again = connect("ingest", protocol=protocol, persistent=True)
    assert again.session_present
    assert [m.payload for m in again.receive(5)] == [b"0", b"1", b"2", b"3", b"4"]


def test_shared_subscription_splits_the_load(connect: Any) -> None:
    workers = [connect("ingest"), connect("ingest-2")]
    for worker in workers:
        assert worker.subscribe("$share/ingest/@update/+/#") == [1]
    endpoint = connect("ep-a")
    for i in range(20):
        endpoint.publish("@update/ep-a/n/o/a", str(i).encode())
    time.sleep(0.3)
    received = [[m.payload for m in w.quiet(0.2)] for w in workers]
    assert sorted(received[0] + received[1], key=int) == [str(i).encode() for i in range(20)]
    assert len(received[0]) == len(received[1]) == 10


def test_qos2_publish_is_accepted_and_delivered_at_most_qos1(connect: Any) -> None:
    ingest = connect("ingest")
    assert ingest.subscribe("@update/+/#", qos=2) == [1]
    assert connect("ep-a").publish("@update/ep-a/n/o/a", b"x", qos=2) == 0
    assert ingest.receive(1)[0].qos == 1


# -- security (reliability.md S1-S4, S6) -------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_s1_cross_endpoint_publish_delivers_nothing(connect: Any, broker: EmbeddedBroker, protocol: int) -> None:
    ingest = connect("ingest")
    ingest.subscribe("@update/+/#")
    attacker = connect("ep-b", protocol=protocol)
    code = attacker.publish("@update/ep-a/n/o/a", b"forged")
    assert code == (NOT_AUTHORIZED if protocol == mqtt.MQTTv5 else 0)
    assert ingest.quiet() == []
    assert broker.stats.denied_publishes == 1


def test_s2_wildcard_snooping_receives_nothing(connect: Any, broker: EmbeddedBroker) -> None:
    snoop = connect("ep-b")
    assert snoop.subscribe("@update/#") == [NOT_AUTHORIZED]
    assert snoop.subscribe("@set/ep-a/#") == [NOT_AUTHORIZED]
    assert snoop.subscribe("#") == [NOT_AUTHORIZED]
    victim = connect("ep-a")
    assert victim.subscribe("@set/ep-a/#") == [1]
    victim.publish("@update/ep-a/n/o/a", b"private")
    connect("api").publish("@set/ep-a/n/o/a", b"command")
    assert victim.receive(1)[0].payload == b"command"
    assert snoop.quiet() == []
    assert broker.stats.denied_subscriptions == 3


def test_s3_client_id_of_another_identity_is_replaced_not_taken_over(connect: Any) -> None:
    victim = connect("ep-a")
    victim.subscribe("@set/ep-a/#")
    impostor = connect("ep-b", client_id="ep-a")
    assert impostor.connect_properties is not None
    assert impostor.connect_properties.AssignedClientIdentifier == "ep-b"
    connect("api").publish("@set/ep-a/n/o/a", b"still mine")
    assert victim.receive(1)[0].payload == b"still mine"
    assert not victim.disconnected.is_set()


def test_same_identity_takes_its_session_over(connect: Any) -> None:
    first = connect("ep-a")
    second = connect("ep-a")
    assert first.disconnected.wait(5)
    assert first.disconnect_reason is not None
    assert first.disconnect_reason.value == 0x8E  # Session taken over
    assert second.publish("@update/ep-a/n/o/a", b"x") == 0


def _connack(port: int, cert_dir: Path, name: str | None, ca_dir: Path | None = None) -> int | None:
    """CONNACK reason of a raw connection, or None if TLS refused it."""
    try:
        raw = RawClient(port, cert_dir, name, ca_dir=ca_dir)
        raw.send(Connect(MQTT_5, "x"))
        packet = raw.read()
        raw.close()
    except (ssl.SSLError, OSError):
        return None
    return packet.reason_code if isinstance(packet, ConnAck) else None


def test_s4_clients_without_a_certificate_or_from_another_ca_are_refused(broker: EmbeddedBroker, pki: Pki) -> None:
    assert _connack(broker.port, pki.directory, "ep-a") == 0
    assert _connack(broker.port, pki.directory, None) is None
    assert _connack(broker.port, pki.foreign, "ep-a", ca_dir=pki.directory) is None
    assert _connack(broker.port, pki.directory, "broker") is None  # a server certificate is no client certificate


def test_s6_disconnect_client_closes_the_session(connect: Any, broker: EmbeddedBroker) -> None:
    ingest = connect("ingest")
    ingest.subscribe("@offline/+")
    endpoint = connect("ep-a", will=("@offline/ep-a", b"revoked"))
    assert broker.stats.connections == 2
    assert asyncio.run_coroutine_threadsafe(broker.disconnect_client("ep-a"), _loop_of(broker)).result(10)
    assert endpoint.disconnected.wait(5)
    assert ingest.receive(1)[0].payload == b"revoked"
    assert broker.stats.connections == 1


def test_s6_revocation_closes_the_session_and_refuses_new_connections(
    connect: Any, broker: EmbeddedBroker, pki: Pki
) -> None:
    ca = CertificateAuthority.load(pki.directory)
    ca.issue("ep-revoked", CertificateKind.ENDPOINT)
    bystander = connect("ep-b")
    victim = connect("ep-revoked")
    ca.revoke("ep-revoked")
    revoked = broker.revoke("ep-revoked", pki.directory / "crl.pem")
    assert asyncio.run_coroutine_threadsafe(revoked, _loop_of(broker)).result(10)
    assert victim.disconnected.wait(5)
    assert _connack(broker.port, pki.directory, "ep-revoked") is None  # the handshake fails on the new CRL
    assert _connack(broker.port, pki.directory, "ep-a") == 0  # others still get in
    assert bystander.client.is_connected()


def _loop_of(broker: EmbeddedBroker) -> asyncio.AbstractEventLoop:
    assert broker._server is not None
    return broker._server.get_loop()


# -- robustness --------------------------------------------------------------------------------------------------


def test_a_malformed_packet_closes_only_that_connection(connect: Any, broker: EmbeddedBroker, pki: Pki) -> None:
    ingest = connect("ingest")
    ingest.subscribe("@update/+/#")
    raw = RawClient(broker.port, pki.directory, "ep-b")
    raw.send(Connect(MQTT_5, "ep-b"))
    assert isinstance(raw.read(), ConnAck)
    raw.tls.sendall(bytes([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]))  # PUBLISH with QoS 3
    packet = raw.read()
    assert isinstance(packet, Disconnect)
    assert packet.reason_code == 0x81
    assert raw.read() is None
    raw.close()
    connect("ep-a").publish("@update/ep-a/n/o/a", b"fine")
    assert ingest.receive(1)[0].payload == b"fine"
    assert broker.stats.malformed_packets == 1


def test_receive_maximum_limits_unacknowledged_deliveries(connect: Any, broker: EmbeddedBroker, pki: Pki) -> None:
    raw = RawClient(broker.port, pki.directory, "ingest")
    raw.send(Connect(MQTT_5, "ingest", properties=((PropertyId.RECEIVE_MAXIMUM, 2),)))
    assert isinstance(raw.read(), ConnAck)
    raw.send(Subscribe(1, (Subscription("@update/+/#", qos=1),)))
    assert raw.read().reason_codes == (1,)
    endpoint = connect("ep-a")
    for i in range(4):
        endpoint.publish("@update/ep-a/n/o/a", str(i).encode())
    first, second = raw.read(), raw.read()
    assert [first.payload, second.payload] == [b"0", b"1"]
    raw.tls.settimeout(0.5)
    with pytest.raises(TimeoutError):
        raw.tls.recv(1)  # the window is full: nothing more until an acknowledgement
    raw.tls.settimeout(5)
    raw.send(PubAck(PacketType.PUBACK, first.packet_id))
    third = raw.read()
    assert isinstance(third, Publish)
    assert third.payload == b"2"
    raw.close()


def test_a_slow_subscriber_does_not_block_the_others(pki: Pki) -> None:
    with BrokerThread(pki, max_queued_messages=50) as small:
        stalled = RawClient(small.port, pki.directory, "ingest-2")
        stalled.send(Connect(MQTT_5, "ingest-2"))
        assert isinstance(stalled.read(), ConnAck)
        stalled.send(Subscribe(1, (Subscription("@update/+/#", qos=0),)))
        stalled.read()  # SUBACK; from now on it never reads again
        fast = Client(small.port, pki.directory, "ingest")
        assert fast.connect()
        fast.subscribe("@update/+/#", qos=0)
        endpoint = Client(small.port, pki.directory, "ep-a")
        assert endpoint.connect()
        payload = b"x" * 60_000
        # Published in rounds of half the queue bound, each received before the next: every session's queue,
        # the fast one's too, holds at most 50 QoS 0 messages and drops the rest, so a burst of 200 would make
        # the result depend on the scheduler (a 50 ms pause of the fast client's network thread on a loaded
        # machine already overflows its queue). Paced like this the fast subscriber can never overflow, while
        # the stalled one, which never reads, overflows within the first rounds: a broker that waited for it
        # would stall a later round.
        received: list[mqtt.MQTTMessage] = []
        for _ in range(200 // 25):
            for _ in range(25):
                endpoint.publish("@update/ep-a/n/o/a", payload, qos=0)
            received += fast.receive(25, timeout_s=30)
        assert len(received) == 200
        assert small.stats.dropped_messages > 0  # the stalled one's bounded queue overflowed
        for client in (fast, endpoint):
            client.disconnect()
        stalled.close()


def test_keep_alive_is_enforced_and_the_will_follows(connect: Any, broker: EmbeddedBroker, pki: Pki) -> None:
    ingest = connect("ingest")
    ingest.subscribe("@offline/+")
    raw = RawClient(broker.port, pki.directory, "ep-a")
    raw.send(Connect(MQTT_5, "ep-a", keep_alive=1, will=Will("@offline/ep-a", b"silent", qos=1)))
    assert isinstance(raw.read(), ConnAck)
    started = time.monotonic()
    packet = raw.read()  # stays silent
    assert isinstance(packet, Disconnect)
    assert packet.reason_code == 0x8D
    assert 1.4 < time.monotonic() - started < 3.0
    assert ingest.receive(1)[0].payload == b"silent"
    raw.close()


def test_goflex_broker_run_embedded_serves_until_sigterm(pki: Pki) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "goflex.cli.main",
            "broker",
            "run",
            "--embedded",
            "--pki",
            str(pki.directory),
            "--port",
            "0",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = ""
        deadline = time.monotonic() + 60
        while "listening on" not in line and time.monotonic() < deadline:
            line = process.stderr.readline()
        port = int(line.rsplit(":", 1)[1].split()[0])
        assert _connack(port, pki.directory, "ep-a") == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
