"""The ingest worker's MQTT side: what it subscribes to, how it connects, how it reads a sequence number."""

from __future__ import annotations

import ssl

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from goflex.cloudio.messages import SEQ_PROPERTY
from goflex.cloudio.transport import BrokerAddress, TransportError
from goflex.common import ConfigError

# Exactly the topics endpoints may publish (goflex.broker.acl.ENDPOINT_PUBLISH with + for the name): a filter such
# as "@update/#" would also cover the bare topic "@update", which no grant allows, and a strict broker (the
# embedded one) refuses the whole subscription.
SHARED_ACTIONS = (
    "@update/+/#",
    "@transaction/+",
    "@delayed/+",
    "@didSet/+/#",
    "@nodeAdded/+/#",
    "@nodeRemoved/+/#",
    "@offline/+",
)
UNSHARED_ACTIONS = ("@online/+",)


def parse_broker_url(url: str) -> tuple[str, int]:
    """``mqtts://host:port`` -> (host, port); only TLS is accepted.

    Raises:
        ConfigError: not an ``mqtts://`` URL.
    """
    try:
        address = BrokerAddress.parse(url)
    except TransportError as exc:
        raise ConfigError("broker_url", str(exc)) from exc
    if not address.tls:
        raise ConfigError("broker_url", f"ingest speaks MQTT over TLS only: expected mqtts://HOST:PORT, got {url!r}")
    return address.host, address.port


def seq_of(properties: Properties | None) -> int | None:
    """The ``goflex-seq`` user property as an int, None if absent or not a positive decimal."""
    pairs = getattr(properties, "UserProperty", None) if properties is not None else None
    for key, value in pairs or ():
        if key == SEQ_PROPERTY:
            text = str(value)
            return int(text) if text.isdecimal() and 0 < len(text) <= 19 else None
    return None


def make_client(host: str, port: int, *, client_id: str, tls: ssl.SSLContext, session_expiry_s: int) -> aiomqtt.Client:
    """An MQTT 5 client over TLS; ``session_expiry_s`` 0 asks for a clean session."""
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    if session_expiry_s > 0:
        props.SessionExpiryInterval = session_expiry_s
    client = aiomqtt.Client(
        host,
        port,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V5,
        tls_context=tls,
        clean_start=session_expiry_s <= 0,
        properties=props,
        keepalive=30,
        max_inflight_messages=1000,
        timeout=10,
    )
    # One @ack per endpoint per committed batch: with thousands of gateways, hundreds of acks are in flight at
    # once by design, and aiomqtt's default warning threshold (10) would flood the log.
    client.pending_calls_threshold = 100_000
    return client
