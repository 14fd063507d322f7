"""Security scenarios S1-S8 (reliability.md) against a real Mosquitto with the rendered configuration.

Mosquitto answers a forbidden publish with a normal PUBACK under MQTT 3.1.1 and grants wildcard subscriptions it
then filters, so these tests assert what is *delivered*, never a return code.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from goflex.broker.render import parse_conf
from goflex.cli.main import main
from goflex.pki import CertificateKind
from goflex.pki.testing import fake_root, foreign_authority, issue_without_client_auth
from tests.integration.mosquitto import MosquittoBroker, TestClient

pytestmark = pytest.mark.mosquitto

PROTOCOLS = [pytest.param(mqtt.MQTTv311, id="mqtt311"), pytest.param(mqtt.MQTTv5, id="mqtt5")]


@pytest.fixture
def clients() -> Iterator[list[TestClient]]:
    opened: list[TestClient] = []
    yield opened
    for client in opened:
        client.close()


def _open(opened: list[TestClient], broker: MosquittoBroker, name: str | None, **kwargs: object) -> TestClient:
    client = broker.client(name, **kwargs)  # type: ignore[arg-type]
    opened.append(client)
    return client


def _ingest(opened: list[TestClient], broker: MosquittoBroker) -> TestClient:
    ingest = _open(opened, broker, "ingest")
    assert ingest.connected.is_set(), broker.log_tail()
    ingest.subscribe("@update/+/#")
    ingest.subscribe("@online/+")
    return ingest


# -- S1 cross-endpoint publish ----------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_s1_an_endpoint_cannot_publish_into_another_endpoints_topics(
    mosquitto: MosquittoBroker, clients: list[TestClient], protocol: int
) -> None:
    ingest = _ingest(clients, mosquitto)
    victim = _open(clients, mosquitto, "ep-b")
    victim.subscribe("@set/ep-b/#")
    attacker = _open(clients, mosquitto, "ep-a", protocol=protocol)
    assert attacker.connected.is_set()
    for topic in ("@update/ep-b/meter/power", "@online/ep-b", "@set/ep-b/relay/on", "@ack/ep-b", "@didSet/ep-b/x"):
        attacker.publish(topic, b"forged")
    # Sentinel on the attacker's own topic: same connection, so everything published before it has been routed.
    attacker.publish("@update/ep-a/meter/power", b"sentinel")
    assert ingest.wait_for("@update/ep-a/meter/power", b"sentinel"), mosquitto.log_tail()
    time.sleep(0.2)
    assert [m for m in ingest.received() if m[1] == b"forged"] == []
    assert victim.received() == []


# -- S2 wildcard snooping ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_s2_wildcard_subscriptions_deliver_nothing_of_other_endpoints(
    mosquitto: MosquittoBroker, clients: list[TestClient], protocol: int
) -> None:
    snoop = _open(clients, mosquitto, "ep-a", protocol=protocol)
    for topic_filter in ("#", "@update/+/#", "@set/ep-b/#", "+/ep-b/#", "@online/+", "$SYS/#"):
        snoop.subscribe(topic_filter)
    victim = _open(clients, mosquitto, "ep-b")
    victim.subscribe("@set/ep-b/#")
    api = _open(clients, mosquitto, "api")
    victim.publish("@update/ep-b/meter/power", b"secret-update")
    victim.publish("@online/ep-b", b"secret-model")
    api.publish("@set/ep-b/relay/on", b"secret-command")
    assert victim.wait_for("@set/ep-b/relay/on", b"secret-command"), "the legitimate command must arrive"
    # The snooper's own command proves its subscriptions work at all.
    api.publish("@set/ep-a/relay/on", b"own-command")
    assert snoop.wait_for("@set/ep-a/relay/on", b"own-command")
    time.sleep(0.2)
    assert [m for m in snoop.received() if b"secret" in m[1]] == []


# -- S3 client-id takeover ---------------------------------------------------------------------------------------


def test_s3_an_endpoint_cannot_take_over_another_endpoints_client_id(
    mosquitto: MosquittoBroker, clients: list[TestClient]
) -> None:
    victim = _open(clients, mosquitto, "ep-b")
    victim.subscribe("@set/ep-b/#")
    attacker = _open(clients, mosquitto, "ep-a", client_id="ep-b")
    assert attacker.connected.is_set()  # accepted, but as ep-a: the client id is the certificate's name
    api = _open(clients, mosquitto, "api")
    api.publish("@set/ep-b/relay/on", b"after-takeover")
    assert victim.wait_for("@set/ep-b/relay/on", b"after-takeover")
    assert victim.connected.is_set()
    assert not victim.disconnected.is_set()
    assert attacker.received() == []


# -- S4 foreign and forged certificates --------------------------------------------------------------------------


def _refused(opened: list[TestClient], broker: MosquittoBroker, context: ssl.SSLContext, ingest: TestClient) -> None:
    client = TestClient(broker, context, client_id="ep-forged", protocol=mqtt.MQTTv5)
    opened.append(client)
    assert not client.connect(timeout_s=3)
    client.publish("@update/ep-forged/x", b"forged", timeout_s=0.5)
    time.sleep(0.3)
    assert [m for m in ingest.received() if m[1] == b"forged"] == []


def test_s4_certificates_of_a_foreign_ca_are_refused(
    mosquitto: MosquittoBroker, clients: list[TestClient], tmp_path: Path
) -> None:
    ingest = _ingest(clients, mosquitto)
    foreign = foreign_authority(tmp_path / "foreign")
    issued = foreign.issue("ep-a")  # even with a name our CA issued
    _refused(clients, mosquitto, mosquitto.ssl_context(cert=issued.cert_path, key=issued.key_path), ingest)


def test_s4_a_fake_root_with_our_dn_is_refused(
    mosquitto: MosquittoBroker, clients: list[TestClient], tmp_path: Path
) -> None:
    ingest = _ingest(clients, mosquitto)
    fake = fake_root(tmp_path / "fake", mosquitto.ca)
    issued = fake.issue("ep-a")
    assert issued.cert_path.read_bytes() != mosquitto.ca.cert_path("ep-a").read_bytes()
    _refused(clients, mosquitto, mosquitto.ssl_context(cert=issued.cert_path, key=issued.key_path), ingest)


def test_s4_a_certificate_without_client_auth_is_refused(mosquitto: MosquittoBroker, clients: list[TestClient]) -> None:
    ingest = _ingest(clients, mosquitto)
    issued = issue_without_client_auth(mosquitto.ca, "ep-noclientauth")
    _refused(clients, mosquitto, mosquitto.ssl_context(cert=issued.cert_path, key=issued.key_path), ingest)


def test_s4_the_server_certificate_is_refused_as_a_client(
    mosquitto: MosquittoBroker, clients: list[TestClient]
) -> None:
    ingest = _ingest(clients, mosquitto)
    context = mosquitto.ssl_context(cert=mosquitto.config.cert_path, key=mosquitto.config.key_path)
    _refused(clients, mosquitto, context, ingest)


def test_s4_no_client_certificate_is_refused(mosquitto: MosquittoBroker, clients: list[TestClient]) -> None:
    ingest = _ingest(clients, mosquitto)
    _refused(clients, mosquitto, mosquitto.ssl_context(None), ingest)


# -- S5 validity period and renewal ---------------------------------------------------------------------------------


def test_s5_expired_and_not_yet_valid_certificates_are_refused(
    mosquitto: MosquittoBroker, clients: list[TestClient]
) -> None:
    ingest = _ingest(clients, mosquitto)
    now = datetime.now(UTC)
    expired = mosquitto.issue("ep-expired", days=1, valid_from=now - timedelta(days=2))
    future = mosquitto.issue("ep-future", days=30, valid_from=now + timedelta(days=1))
    for issued in (expired, future):
        _refused(clients, mosquitto, mosquitto.ssl_context(cert=issued.cert_path, key=issued.key_path), ingest)


def test_s5_renewal_has_no_gap(mosquitto: MosquittoBroker, clients: list[TestClient]) -> None:
    ingest = _ingest(clients, mosquitto)
    first = mosquitto.issue("ep-renew")
    old_context = mosquitto.ssl_context(cert=first.cert_path, key=first.key_path)  # the device keeps the old pair
    old = _open(clients, mosquitto, None, client_id="ep-renew", context=old_context)
    old.publish("@update/ep-renew/x", b"old-1")
    mosquitto.issue("ep-renew", renew=True)
    new_context = mosquitto.ssl_context("ep-renew")
    old.publish("@update/ep-renew/x", b"old-2")  # the open session is unaffected
    old.close()
    again = _open(clients, mosquitto, None, client_id="ep-renew", context=old_context)
    assert again.connected.is_set(), "the old certificate stays valid until it expires"
    again.close()
    new = _open(clients, mosquitto, None, client_id="ep-renew", context=new_context)
    assert new.connected.is_set()
    new.publish("@update/ep-renew/x", b"new-1")
    for payload in (b"old-1", b"old-2", b"new-1"):
        assert ingest.wait_for("@update/ep-renew/x", payload)


# -- S6 revocation closes the open session -------------------------------------------------------------------------


def test_s6_revocation_closes_the_open_session_and_refuses_new_ones(
    mosquitto: MosquittoBroker, clients: list[TestClient]
) -> None:
    ingest = _ingest(clients, mosquitto)
    mosquitto.issue("ep-revoked")
    context = mosquitto.ssl_context("ep-revoked")
    device = _open(clients, mosquitto, "ep-revoked", context=context)
    device.publish("@update/ep-revoked/x", b"before")
    assert ingest.wait_for("@update/ep-revoked/x", b"before")
    bystander = _open(clients, mosquitto, "ep-b")
    started = time.monotonic()
    mosquitto.revoke("ep-revoked")
    assert device.disconnected.wait(60), mosquitto.log_tail()
    assert time.monotonic() - started < 60
    device.publish("@update/ep-revoked/x", b"after", timeout_s=0.5)  # paho keeps reconnecting: must fail
    retry = TestClient(mosquitto, context, client_id="ep-revoked", protocol=mqtt.MQTTv5)
    clients.append(retry)
    assert not retry.connect(timeout_s=3)
    time.sleep(2.5)  # at least one of paho's reconnect attempts (1-2 s)
    assert not device.connected.is_set()
    assert ingest.wait_for("@update/ep-revoked/x", b"after", timeout_s=0.5) is False
    assert bystander.connected.is_set(), "revocation must not disconnect anyone else"
    assert not bystander.disconnected.is_set()


# -- S7 identity injection -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["#", "+", "a/b", "", "x" * 300, "ep a", "ep.b", "ep-\u202e"])
def test_s7_provisioning_refuses_bad_names(
    mosquitto: MosquittoBroker, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in mosquitto.pki_dir.iterdir())
    assert main(["pki", "issue", name, "--dir", str(mosquitto.pki_dir)]) != 0
    assert "invalid identity" in capsys.readouterr().err
    assert sorted(p.name for p in mosquitto.pki_dir.iterdir()) == before


def test_s7_the_installed_command_exits_non_zero_with_a_clear_error(mosquitto: MosquittoBroker) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "goflex.cli.main", "pki", "issue", "+", "--dir", str(mosquitto.pki_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "invalid identity '+'" in result.stderr
    assert "forbidden" in result.stderr


# -- S8 no plaintext, no anonymous access ------------------------------------------------------------------------


def test_s8_rendered_config_has_one_tls_listener_and_no_anonymous_access(mosquitto: MosquittoBroker) -> None:
    text = mosquitto.config.conf_path.read_text()
    conf = parse_conf(text)
    assert conf["listener"] == [str(mosquitto.port)]
    assert "port" not in conf
    assert "bind_address" not in conf
    assert conf["allow_anonymous"] == ["false"]
    assert conf["require_certificate"] == ["true"]
    assert conf["use_identity_as_username"] == ["true"]
    for option in ("cafile", "certfile", "keyfile", "crlfile"):
        assert len(conf[option]) == 1
    assert "websockets" not in conf.get("protocol", [])
    assert "password_file" not in conf
    assert "psk_file" not in conf


def test_s8_plaintext_mqtt_gets_no_connack(mosquitto: MosquittoBroker) -> None:
    connect = bytes([0x10, 0x10, 0x00, 0x04]) + b"MQTT" + bytes([0x04, 0x02, 0x00, 0x3C, 0x00, 0x04]) + b"anon"
    with socket.create_connection((mosquitto.host, mosquitto.port), timeout=3) as sock:
        sock.sendall(connect)
        try:
            reply = sock.recv(16)
        except (ConnectionResetError, TimeoutError):
            reply = b""
    assert not reply.startswith(b"\x20"), "a plaintext CONNECT must never get a CONNACK"


def test_s8_the_broker_runs_with_the_rendered_kind_of_identity(mosquitto: MosquittoBroker) -> None:
    # Sanity for every test above: the identities the fixture relies on exist with the intended kinds.
    assert mosquitto.ca.kind_of("ingest") is CertificateKind.SERVICE
    assert mosquitto.ca.kind_of("ep-a") is CertificateKind.ENDPOINT
    assert mosquitto.ca.kind_of("broker") is CertificateKind.SERVER
