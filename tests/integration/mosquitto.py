"""A real Mosquitto for integration tests: fresh CA, rendered TLS config, free port; and a paho TLS test client.

The broker is started with the configuration ``goflex broker render`` produces (plus ``run_as_current_user``,
because Mosquitto started as root otherwise drops to the ``mosquitto`` user, reliability.md), so the tests check
the production configuration, not a test variant.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from goflex.broker.acl import Grant, api_grants, ingest_grants
from goflex.broker.render import RenderedConfig, render_mosquitto
from goflex.broker.revocation import revoke_and_disconnect
from goflex.pki import CertificateAuthority, CertificateKind, IssuedCertificate

HOST = "127.0.0.1"  # in the server certificate's SAN
SERVICES = ("ingest", "api")
ENDPOINTS = ("ep-a", "ep-b")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class MosquittoBroker:
    """A running Mosquitto with its own CA. ``ssl_context(name)`` gives a client context for an identity."""

    binary: str
    root: Path
    grants: list[Grant]
    host: str = HOST
    port: int = 0
    ca: CertificateAuthority = field(init=False)
    config: RenderedConfig = field(init=False)
    process: subprocess.Popen[bytes] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.ca = CertificateAuthority.init(self.root / "pki")
        for name in SERVICES:
            self.ca.issue(name, CertificateKind.SERVICE)
        for name in ENDPOINTS:
            self.ca.issue(name, CertificateKind.ENDPOINT)
        self.port = self.port or free_port()
        self.config = render_mosquitto(
            self.ca.directory, self.root / "broker", port=self.port, grants=self.grants, run_as_current_user=True
        )

    # -- identities ----------------------------------------------------------------------------------------

    @property
    def pki_dir(self) -> Path:
        return self.ca.directory

    @property
    def log_path(self) -> Path:
        return self.root / "mosquitto.log"

    def issue(
        self,
        name: str,
        kind: CertificateKind = CertificateKind.ENDPOINT,
        *,
        days: int = 30,
        renew: bool = False,
        valid_from: datetime | None = None,
    ) -> IssuedCertificate:
        return self.ca.issue(name, kind, days=days, renew=renew, valid_from=valid_from)

    def ssl_context(
        self, name: str | None = None, *, cert: Path | None = None, key: Path | None = None
    ) -> ssl.SSLContext:
        """Client context trusting our CA and presenting ``name``'s (or the given) certificate; none if neither."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca.ca_cert_path))
        if name is not None:
            cert, key = self.ca.cert_path(name), self.ca.key_path(name)
        if cert is not None and key is not None:
            context.load_cert_chain(cert, key)
        return context

    def client(
        self,
        name: str | None,
        *,
        protocol: int = mqtt.MQTTv5,
        client_id: str | None = None,
        context: ssl.SSLContext | None = None,
    ) -> TestClient:
        """A connected (or refused: check ``.connected``) TLS client."""
        client = TestClient(
            self, context or self.ssl_context(name), client_id=client_id or name or "", protocol=protocol
        )
        client.connect()
        return client

    # -- process ---------------------------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout_s: float = 10.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([self.binary, "-c", str(self.config.conf_path)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.process.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.5):
                return
            time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout_s} s: {self.log_tail()}")

    def stop(self) -> None:
        """Graceful stop (SIGTERM): persistence saves the queues."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = None

    def reload(self) -> None:
        """SIGHUP: re-read the ACL and the CRL (new connections only)."""
        os.kill(self.pid, signal.SIGHUP)

    def revoke(self, name: str) -> int:
        """The platform's revocation: PKI + CRL + reload + close the open session."""
        return revoke_and_disconnect(self.pki_dir, self.config, name, pid=self.pid, host=self.host)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


class TestClient:
    """A paho-mqtt (v2 callback API) TLS client that records what it receives and whether it is connected."""

    __test__ = False  # not a pytest test class

    def __init__(self, broker: MosquittoBroker, context: ssl.SSLContext, *, client_id: str, protocol: int) -> None:
        self.broker = broker
        self.messages: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.refused = threading.Event()
        self._subacks: dict[int, list[int]] = {}
        self._suback_event = threading.Condition()
        self._lock = threading.Lock()
        self.mqtt = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        self.mqtt.tls_set_context(context)
        self.mqtt.reconnect_delay_set(1, 2)
        self.mqtt.on_connect = self._on_connect
        self.mqtt.on_disconnect = self._on_disconnect
        self.mqtt.on_message = self._on_message
        self.mqtt.on_subscribe = self._on_subscribe
        self._started = False

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, rc: mqtt.ReasonCode, _p: object) -> None:
        if rc.is_failure:
            self.refused.set()
        else:
            self.disconnected.clear()
            self.connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, _rc: object, _p: object) -> None:
        self.connected.clear()
        self.disconnected.set()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload)))

    def _on_subscribe(self, _c: mqtt.Client, _u: object, mid: int, codes: list[mqtt.ReasonCode], _p: object) -> None:
        with self._suback_event:
            self._subacks[mid] = [code.value for code in codes]
            self._suback_event.notify_all()

    def connect(self, timeout_s: float = 5.0) -> bool:
        """True if the broker accepted the connection (CONNACK success) within ``timeout_s`` [s]."""
        try:
            self.mqtt.connect(self.broker.host, self.broker.port, keepalive=10)
        except (OSError, ssl.SSLError):
            sock = self.mqtt.socket()
            if sock is not None:
                sock.close()
            return False
        self.mqtt.loop_start()
        self._started = True
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # a refused TLS 1.3 client learns it only after the handshake
            if self.connected.is_set():
                return True
            if self.disconnected.is_set() or self.refused.is_set():
                return False
            time.sleep(0.01)
        return self.connected.is_set()

    def subscribe(self, topic_filter: str, qos: int = 1, timeout_s: float = 5.0) -> list[int]:
        """Subscribe and wait for the SUBACK; returns its reason codes (a grant does not mean delivery)."""
        _, mid = self.mqtt.subscribe(topic_filter, qos=qos)
        with self._suback_event:
            self._suback_event.wait_for(lambda: mid in self._subacks, timeout_s)
            return self._subacks.get(mid, [])

    def publish(self, topic: str, payload: bytes, qos: int = 1, timeout_s: float = 5.0) -> None:
        info = self.mqtt.publish(topic, payload, qos=qos)
        with contextlib.suppress(RuntimeError, ValueError):
            info.wait_for_publish(timeout_s)

    def received(self, topic_prefix: str = "") -> list[tuple[str, bytes]]:
        with self._lock:
            return [m for m in self.messages if m[0].startswith(topic_prefix)]

    def wait_for(self, topic: str, payload: bytes, timeout_s: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (topic, payload) in self.received():
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        if self._started:
            self.mqtt.disconnect()
            self.mqtt.loop_stop()
            self._started = False


def default_grants() -> list[Grant]:
    return [*ingest_grants(), *api_grants()]
