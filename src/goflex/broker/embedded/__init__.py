"""An in-process MQTT broker with the production broker's identity and topic rules (DESIGN.md 3).

``goflex demo``, the test suite and laptops without Mosquitto use it in place of Mosquitto 2 configured by
``goflex broker render``. It enforces the same rules:

* TLS only (1.2+), a client certificate signed by the installation's CA is required, the CRL is checked.
* The certificate's CN is the user name *and* the client id (Mosquitto's ``use_identity_as_username`` and
  ``use_username_as_clientid``): whatever client id a CONNECT carries is replaced (MQTT 5 returns it as
  Assigned Client Identifier). A second connection with the same identity takes the session over; no other
  identity can, so client-id takeover across identities is impossible (reliability.md S3).
* Every publish, subscription and delivery is authorised (:class:`Authorizer`, deny by default). A denied
  publish is dropped; MQTT 5 gets PUBACK 135, MQTT 3.1.1 a normal PUBACK, exactly like Mosquitto.

MQTT 3.1.1 and 5.0: QoS 0 and 1 (QoS 2 accepted from publishers, delivered at most as QoS 1), retained messages,
wills, persistent sessions with bounded queues, session and message expiry, shared subscriptions, user
properties and the other MQTT 5 message properties passed through, Receive Maximum, packet-size limits,
keep-alive. Not supported: topic aliases (Topic Alias Maximum 0), enhanced authentication (AUTH), will delay,
persistence across restarts.

Why hand-written: no maintained Python library does MQTT 5 with client-certificate identities and per-message
authorisation in-process. Checked (2026): amqtt (successor of hbmqtt) implements MQTT 3.1.1 only; hbmqtt is
unmaintained and 3.1.1 only; mqttools' broker speaks MQTT 5 but only QoS 0, without authentication or
wildcards in older releases; gmqtt, paho-mqtt and aiomqtt are clients. Mosquitto, EMQX, VerneMQ and HiveMQ are
separate processes, which is what the production column uses.

Public API: :class:`EmbeddedBroker`, :func:`server_ssl_context`, :class:`Authorizer`, :class:`Principal`,
:class:`BrokerStats`, :func:`run_from_args` (``goflex broker run --embedded``).
"""

from goflex.broker.embedded.auth import Authorizer, Principal, PrincipalLike
from goflex.broker.embedded.errors import EmbeddedBrokerError, MalformedPacket, PacketTooLarge, UnsupportedProtocol
from goflex.broker.embedded.runner import (
    AccessPolicyAuthorizer,
    platform_authorizer,
    run_from_args,
    ssl_context_from_pki,
)
from goflex.broker.embedded.server import BrokerStats, EmbeddedBroker
from goflex.broker.embedded.tls import principal_from_peercert, server_ssl_context

__all__ = [
    "AccessPolicyAuthorizer",
    "Authorizer",
    "BrokerStats",
    "EmbeddedBroker",
    "EmbeddedBrokerError",
    "MalformedPacket",
    "PacketTooLarge",
    "Principal",
    "PrincipalLike",
    "UnsupportedProtocol",
    "platform_authorizer",
    "principal_from_peercert",
    "run_from_args",
    "server_ssl_context",
    "ssl_context_from_pki",
]
