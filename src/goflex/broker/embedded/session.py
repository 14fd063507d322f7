"""A client's session state: subscriptions, queued and in-flight messages (MQTT 5.0 section 4.1; pure).

A session outlives its network connection when the client asked for it (MQTT 3.1.1 Clean Session 0, MQTT 5
Session Expiry Interval > 0). While it is offline, QoS 1 messages for it are queued (QoS 0 ones are not, like
Mosquitto's default ``queue_qos0_messages false``); while it is online the same queue is the connection's
bounded outgoing buffer, so a slow subscriber never blocks a publisher or the other subscribers. The queue is
bounded (``max_queued``); what does not fit is dropped and counted, as Mosquitto does with
``max_queued_messages`` (reliability.md: a PUBACK is not storage).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NamedTuple

from goflex.broker.embedded.auth import Principal
from goflex.broker.embedded.properties import Properties

NEVER_EXPIRES: Final = 0xFFFF_FFFF
"""Session Expiry Interval meaning "never" (MQTT 5.0 section 3.1.2.11.2) [s]."""


@dataclass(frozen=True, slots=True)
class SubOptions:
    """What a client asked for when subscribing to one filter.

    Attributes:
        qos: Granted maximum QoS (0 or 1).
        no_local: Do not deliver the client's own messages (MQTT 5).
        retain_as_published: Keep the publisher's retain flag on delivery (MQTT 5).
        retain_handling: 0 send retained messages, 1 only for a new subscription, 2 never (MQTT 5).
        subscription_id: MQTT 5 Subscription Identifier to echo on deliveries, if any.
    """

    qos: int
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0
    subscription_id: int | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """An application message as routed: published once, delivered to many without copying the payload.

    Attributes:
        topic: Topic name.
        payload: Application bytes.
        qos: QoS it was published with.
        retain: Retain flag it was published with.
        properties: MQTT 5 properties passed through (no topic alias, subscription identifier or expiry).
        origin: Client id of the publisher (for No Local).
        expires_at: Monotonic deadline from the Message Expiry Interval [s], or None.
        topic_wire: ``topic`` encoded as an MQTT string, computed once.
        properties_wire: ``properties`` encoded, computed once.
    """

    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: Properties
    origin: str
    expires_at: float | None
    topic_wire: bytes
    properties_wire: bytes


class Delivery(NamedTuple):
    """One message on its way to one session."""

    message: Message
    qos: int
    retain: bool
    subscription_ids: tuple[int, ...]


class Session:
    """State kept for one client id.

    Args:
        client_id: The certificate CN.
        principal: Who owns the session.
        expiry_interval: Seconds the session survives a disconnect [s]; :data:`NEVER_EXPIRES` for ever.
        max_queued: Most deliveries queued for this session.
    """

    __slots__ = (
        "_next_id",
        "awaiting_release",
        "client_id",
        "disconnected_at",
        "dropped",
        "expiry_interval",
        "inflight",
        "max_queued",
        "principal",
        "queue",
        "subscriptions",
        "waker",
    )

    def __init__(self, client_id: str, principal: Principal, *, expiry_interval: int, max_queued: int) -> None:
        self.client_id = client_id
        self.principal = principal
        self.expiry_interval = expiry_interval
        self.max_queued = max_queued
        self.subscriptions: dict[str, SubOptions] = {}
        self.queue: deque[Delivery] = deque()
        self.inflight: dict[int, Delivery] = {}
        self.awaiting_release: set[int] = set()
        self.disconnected_at: float | None = None
        self.waker: Callable[[], None] | None = None
        self.dropped = 0
        self._next_id = 0

    @property
    def online(self) -> bool:
        """True while a connection serves this session."""
        return self.waker is not None

    def enqueue(self, delivery: Delivery) -> bool:
        """Queue a delivery and wake the connection; False (and counted) if the queue is full."""
        if len(self.queue) >= self.max_queued:
            self.dropped += 1
            return False
        self.queue.append(delivery)
        if self.waker is not None:
            self.waker()
        return True

    def allocate_packet_id(self) -> int:
        """A packet identifier 1..65535 not used by an in-flight message."""
        for _ in range(0x10000):
            self._next_id = self._next_id % 0xFFFF + 1
            if self._next_id not in self.inflight:
                return self._next_id
        raise RuntimeError("all 65,535 packet identifiers are in flight")  # bounded by Receive Maximum

    def expired(self, now: float) -> bool:
        """True if the session is offline for longer than its expiry interval."""
        if self.disconnected_at is None or self.expiry_interval == NEVER_EXPIRES:
            return False
        return now - self.disconnected_at >= self.expiry_interval
