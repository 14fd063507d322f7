"""MQTT-over-TLS connection settings shared by the endpoint and application SDKs.

Everything that touches aiomqtt/paho is kept here and in the SDK modules; the protocol core stays pure.

* :class:`BrokerAddress` reads ``mqtts://host:8883`` (TLS, the only scheme allowed off the loopback interface,
  reliability.md S8) or ``mqtt://127.0.0.1:1883`` (plain, loopback only: tests and the embedded demo broker).
* :func:`client_ssl_context` builds a TLS >= 1.2 client context that trusts only the installation's CA and
  presents the client certificate (CN = endpoint or application name, DESIGN.md 4).
* :class:`TransportSettings` gathers what a connection needs; :func:`make_client` turns it into an
  ``aiomqtt.Client`` speaking MQTT 5 (user properties carry the ``goflex-seq`` sequence number).

Errors: :class:`TransportError` (under ``CloudioError``) for bad settings, :class:`ConnectionLost` when the
broker went away mid-operation (the SDKs catch it and reconnect).
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from goflex.cloudio.errors import CloudioError

DEFAULT_TLS_PORT = 8883
DEFAULT_PLAIN_PORT = 1883


class TransportError(CloudioError):
    """A connection setting is invalid (broker URL, certificate files); the message names it."""


class ConnectionLost(CloudioError):  # noqa: N818 - named for what the caller decides: reconnect
    """The broker connection failed or dropped; the SDK reconnects with backoff."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker listens.

    Attributes:
        host: host name or IP address.
        port: TCP port.
        tls: True for ``mqtts`` (mandatory unless the host is a loopback address).
    """

    host: str
    port: int
    tls: bool = True

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Read ``mqtts://host[:port]`` (default port 8883) or ``mqtt://loopback[:port]`` (default 1883).

        Raises:
            TransportError: unknown scheme, no host, bad port, or plain MQTT to a non-loopback host.
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise TransportError(f"broker URL {url!r}: {exc}") from exc
        if parts.scheme not in ("mqtts", "mqtt"):
            raise TransportError(f"broker URL {url!r}: scheme must be mqtts:// (or mqtt:// on loopback)")
        if not parts.hostname:
            raise TransportError(f"broker URL {url!r}: no host")
        if parts.path not in ("", "/") or parts.query or parts.username:
            raise TransportError(f"broker URL {url!r}: only scheme, host and port are allowed")
        tls = parts.scheme == "mqtts"
        if not tls and not _is_loopback(parts.hostname):
            # reliability.md S8: no plaintext beyond loopback.
            raise TransportError(f"broker URL {url!r}: plain mqtt:// is allowed only to a loopback address")
        return cls(parts.hostname, port or (DEFAULT_TLS_PORT if tls else DEFAULT_PLAIN_PORT), tls)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{host}:{self.port}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _ClosingSSLSocket(ssl.SSLSocket):
    """An SSL socket that closes itself when its handshake fails.

    paho-mqtt (2.x) wraps the TCP socket and calls ``do_handshake()`` without closing the socket when that
    raises (broker down, reset, wrong CA): every failed attempt left a descriptor for the garbage collector. A
    gateway retrying for hours must not depend on that (reliability.md R5).
    """

    def do_handshake(self, block: bool = False) -> None:  # the signature of ssl.SSLSocket
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def client_ssl_context(
    ca_file: Path | str, cert_file: Path | str | None, key_file: Path | str | None, *, check_hostname: bool = True
) -> ssl.SSLContext:
    """A TLS client context that trusts only ``ca_file`` and presents ``cert_file``/``key_file``.

    Args:
        ca_file: the installation's CA certificate (PEM).
        cert_file: the client certificate (PEM), or None to connect without one.
        key_file: its private key (PEM, unencrypted, mode 0600); never read into a log.
        check_hostname: verify the broker certificate's name against the host (keep True in production).

    Raises:
        TransportError: a file is missing or unreadable, or the key does not match the certificate. The
            message names the file, never its content.
    """
    # Trust the installation's CA only: create_default_context() would also load the system's public roots, so
    # any publicly signed certificate with the broker's name could stand in for the broker (and loading them
    # costs a fleet of simulated gateways seconds).
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = check_hostname
    context.sslsocket_class = _ClosingSSLSocket
    try:
        context.load_verify_locations(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise TransportError(f"CA file {ca_file}: cannot be loaded ({type(exc).__name__})") from None
    if (cert_file is None) != (key_file is None):
        raise TransportError("a client certificate needs both cert_file and key_file")
    if cert_file is not None and key_file is not None:
        try:
            context.load_cert_chain(certfile=str(cert_file), keyfile=str(key_file))
        except (OSError, ssl.SSLError) as exc:
            # `from None`: an SSL error's text could echo file content; name the files only.
            raise TransportError(
                f"client certificate {cert_file} / key {key_file}: cannot be loaded ({type(exc).__name__})"
            ) from None
    return context


@dataclass(frozen=True, slots=True)
class TransportSettings:
    """What a connection to the broker needs.

    Attributes:
        broker: the broker address.
        ssl_context: TLS client context (None only for plain loopback MQTT).
        keepalive_s: MQTT keep-alive [s]; a half-open connection is detected within ~1.5 x this (R7).
        timeout_s: how long one MQTT operation (connect, subscribe, PUBACK) may take [s].
    """

    broker: BrokerAddress
    ssl_context: ssl.SSLContext | None
    keepalive_s: int = 30
    timeout_s: float = 10.0

    @classmethod
    def from_files(
        cls,
        broker: str,
        *,
        ca_file: Path | str | None,
        cert_file: Path | str | None,
        key_file: Path | str | None,
        keepalive_s: int = 30,
        timeout_s: float = 10.0,
        check_hostname: bool = True,
    ) -> TransportSettings:
        """Settings from a broker URL and certificate paths.

        Raises:
            TransportError: bad URL or files, or TLS requested without a CA file.
        """
        address = BrokerAddress.parse(broker)
        if keepalive_s < 1:
            raise TransportError(f"keep-alive must be >= 1 s, got {keepalive_s}")
        context = None
        if address.tls:
            if ca_file is None:
                raise TransportError(f"broker {address}: TLS needs a CA file")
            context = client_ssl_context(ca_file, cert_file, key_file, check_hostname=check_hostname)
        return cls(address, context, keepalive_s, timeout_s)


PENDING_CALLS_WARNING = 64  # aiomqtt logs a warning when more calls than this await completion


def make_client(
    settings: TransportSettings, *, identifier: str, will: aiomqtt.Will | None = None, clean_start: bool = True
) -> aiomqtt.Client:
    """An MQTT 5 client for ``settings`` (not yet connected: use ``async with``)."""
    client = aiomqtt.Client(
        settings.broker.host,
        settings.broker.port,
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5,
        will=will,
        keepalive=settings.keepalive_s,
        timeout=settings.timeout_s,
        tls_context=settings.ssl_context,
        clean_start=clean_start,
    )
    # The endpoint keeps up to 20 QoS 1 publishes in flight (endpoint_client._MAX_INFLIGHT); aiomqtt's default
    # warns from 10 pending calls on, which would flood a healthy fleet's log.
    client.pending_calls_threshold = PENDING_CALLS_WARNING
    return client


class UserPublishProperties(Properties):
    """MQTT 5 PUBLISH properties holding only user properties, packed once at creation.

    paho's generic :class:`Properties` rebuilds its tables of property names in every constructor and searches
    them by string on every attribute access and on packing: with one publish per reading, a fleet of gateways
    spent more CPU there than on the rest of a publication. The bytes are the same (MQTT 5, 3.3.2.3.7: property
    0x26, a UTF-8 string pair per user property).
    """

    def __init__(self, user: dict[str, str]) -> None:
        pairs = list(user.items())
        body = b"".join(b"\x26" + _utf8(key) + _utf8(value) for key, value in pairs)
        object.__setattr__(self, "packetType", PacketTypes.PUBLISH)
        object.__setattr__(self, "UserProperty", pairs)
        object.__setattr__(self, "_packed", _variable_byte_integer(len(body)) + body)

    def pack(self) -> bytes:
        """The encoded properties (length prefix included), as paho puts them into the PUBLISH packet."""
        packed: bytes = object.__getattribute__(self, "_packed")
        return packed

    def __str__(self) -> str:
        return f"[UserProperty : {object.__getattribute__(self, 'UserProperty')}]"

    __repr__ = __str__


def _utf8(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > 0xFFFF:
        raise ValueError(f"user property of {len(data)} bytes: MQTT strings hold at most 65,535")
    return len(data).to_bytes(2, "big") + data


def _variable_byte_integer(n: int) -> bytes:
    """MQTT's variable byte integer (1.5.5): 7 bits per byte, high bit = more bytes follow."""
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish_properties(user: dict[str, str] | None = None) -> Properties | None:
    """MQTT 5 PUBLISH properties carrying ``user`` as user properties (None when empty)."""
    if not user:
        return None
    return UserPublishProperties(user)


def user_properties(message: aiomqtt.Message) -> dict[str, str]:
    """The MQTT 5 user properties of a received message (empty for MQTT 3.1.1 senders)."""
    props = message.properties
    pairs = getattr(props, "UserProperty", None) if props is not None else None
    return {str(k): str(v) for k, v in pairs or ()}


def release_socket(client: aiomqtt.Client) -> None:
    """Close the client's socket if a broken connection left it open.

    aiomqtt (2.5) records an exception raised while reading a broken TLS stream (a reset, a cut link) as the
    disconnect reason but never closes paho's socket, and its ``__aexit__`` skips the close when already
    disconnected: without this, every lost connection leaks a file descriptor (reliability.md R5). paho's own
    close path also unregisters the socket from the event loop.
    """
    paho = client._client  # private: no public API closes the socket after such a failure
    if paho.socket() is not None:
        paho._sock_close()


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel a service's background task and wait for it to end; re-raise if the caller itself is cancelled."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
