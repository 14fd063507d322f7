"""The embedded broker: accepts mTLS connections, keeps sessions, routes messages (MQTT 3.1.1 and 5.0).

Routing a PUBLISH: the authorizer is asked once (``may_publish``), the subscription trie yields the matching
subscriptions, each receiving session is asked once (``may_receive``), and the message object (payload not
copied) is appended to that session's bounded queue. Shared subscriptions (``$share/<group>/<filter>``) deliver
each message to one member of the group, round robin over the members online.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from goflex.broker.embedded.auth import Authorizer, Principal
from goflex.broker.embedded.codec import DEFAULT_MAX_PACKET_SIZE
from goflex.broker.embedded.connection import Connection
from goflex.broker.embedded.matching import TopicTrie, filter_matches, split_shared
from goflex.broker.embedded.packets import MQTT_5, Connect, Publish, Reason, Will
from goflex.broker.embedded.properties import Properties, PropertyId, encode_properties, get_int
from goflex.broker.embedded.session import NEVER_EXPIRES, Delivery, Message, Session, SubOptions
from goflex.broker.embedded.tls import peer_serial, principal_from_peercert, revoked_serials
from goflex.broker.embedded.wire import encode_utf8
from goflex.common import Clock, RealClock

log = logging.getLogger("goflex.broker.embedded")

_NOT_FORWARDED: Final = frozenset(
    {PropertyId.TOPIC_ALIAS, PropertyId.SUBSCRIPTION_IDENTIFIER, PropertyId.WILL_DELAY_INTERVAL}
)
_COUNTERS: Final = (
    "connections_total",
    "refused_connections",
    "messages_in",
    "messages_out",
    "denied_publishes",
    "denied_subscriptions",
    "denied_deliveries",
    "dropped_messages",
    "malformed_packets",
)


@dataclass(frozen=True)
class BrokerStats:
    """A snapshot of the broker's counters (totals since start, except ``connections`` and ``sessions``)."""

    connections: int
    sessions: int
    retained: int
    connections_total: int
    refused_connections: int
    messages_in: int
    messages_out: int
    denied_publishes: int
    denied_subscriptions: int
    denied_deliveries: int
    dropped_messages: int
    malformed_packets: int


class _SharedGroup:
    """Members of one ``$share/<group>/<filter>`` and the round-robin position."""

    __slots__ = ("cursor", "members", "order")

    def __init__(self) -> None:
        self.members: dict[str, SubOptions] = {}
        self.order: list[str] = []
        self.cursor = 0

    def pick(self, sessions: dict[str, Session]) -> tuple[Session, SubOptions] | None:
        count = len(self.order)
        fallback = None
        for step in range(count):
            client_id = self.order[(self.cursor + step) % count]
            session = sessions.get(client_id)
            if session is None:
                continue
            if session.online:
                self.cursor = (self.cursor + step + 1) % count
                return session, self.members[client_id]
            fallback = fallback or (session, self.members[client_id])
        if fallback is not None:  # nobody online: queue on a persistent member rather than lose it
            self.cursor = (self.cursor + 1) % count
        return fallback


class EmbeddedBroker:
    """An in-process MQTT broker with Mosquitto's identity and topic rules (see the package docstring).

    Args:
        host: Interface to listen on.
        port: TCP port; 0 picks a free one (read :attr:`port` after :meth:`start`).
        ssl_context: Server context requiring client certificates (:func:`server_ssl_context`).
        authorizer: Topic authorisation, deny by default.
        max_queued_messages: Most messages queued per session (offline QoS 1, or not yet written).
        max_packet_size: Largest packet accepted from a client [bytes].
        clock: Time source for keep-alive, session and message expiry (pass a real clock unless the network is
            simulated too).
        sweep_interval_s: How often keep-alive and session expiry are checked [s].
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext,
        authorizer: Authorizer,
        max_queued_messages: int = 100_000,
        max_packet_size: int = DEFAULT_MAX_PACKET_SIZE,
        clock: Clock | None = None,
        sweep_interval_s: float = 0.5,
    ) -> None:
        self.host = host
        self._port = port
        self._ssl = ssl_context
        self._revoked: frozenset[int] = frozenset()  # serials of the latest CRL given to revoke()
        self.authorizer = authorizer
        self.max_queued_messages = max_queued_messages
        self.max_packet_size = max_packet_size
        self.clock: Clock = clock or RealClock()
        self._sweep_interval_s = sweep_interval_s
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False
        self._connections: set[Connection] = set()
        self._online: dict[str, Connection] = {}
        self._sessions: dict[str, Session] = {}
        self._subscriptions: TopicTrie[str, SubOptions] = TopicTrie()
        self._shared: TopicTrie[str, _SharedGroup] = TopicTrie()
        self._groups: dict[str, _SharedGroup] = {}
        self._retained: dict[str, Message] = {}
        self._counters = dict.fromkeys(_COUNTERS, 0)

    # -- life cycle ----------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port listened on (the real one once started)."""
        return self._port

    async def start(self) -> None:
        """Bind and start accepting connections."""
        self._stopping = False
        self._server = await asyncio.start_server(
            self._on_client, self.host, self._port, ssl=self._ssl, ssl_handshake_timeout=10.0
        )
        self._port = self._server.sockets[0].getsockname()[1]
        self._sweeper = asyncio.create_task(self._sweep())
        log.info("embedded MQTT broker listening on %s:%d (TLS, client certificates required)", self.host, self._port)

    async def stop(self) -> None:
        """Stop accepting, close every connection (MQTT 5: reason 0x8B) and wait for them to end."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        connections = list(self._connections)
        for conn in connections:
            conn.close(Reason.SERVER_SHUTTING_DOWN)
        tasks = [c.task for c in connections if c.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        log.info("embedded MQTT broker stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def disconnect_client(self, client_id: str) -> bool:
        """Close ``client_id``'s connection and discard its session (used when its certificate is revoked).

        The will, if any, is published as after a network failure (the endpoint's ``@offline``).

        Returns:
            True if there was a connection or a session.
        """
        conn = self._online.get(client_id)
        session = self._sessions.get(client_id)
        if session is not None:
            self._discard(session)
        if conn is not None:
            conn.close(Reason.ADMINISTRATIVE_ACTION)
            if conn.task is not None:
                await asyncio.wait({conn.task}, timeout=5.0)
        if conn or session:
            log.info("disconnected %r and discarded its session", client_id)
        return conn is not None or session is not None

    async def revoke(self, client_id: str, crl_file: Path | str) -> bool:
        """Apply a new CRL to future handshakes, then close ``client_id``'s open session (reliability.md S6).

        The listening TLS context cannot swap its CRL reliably (OpenSSL keeps the CRL it loaded first when two
        have the same issue time), so the broker checks each new connection's certificate serial against the
        serials of the latest CRL itself, right after the handshake. No restart; other clients stay connected.

        Returns:
            True if the client had a connection or a session.

        Raises:
            ConfigError: the CRL cannot be read.
        """
        self._revoked = revoked_serials(crl_file)
        return await self.disconnect_client(client_id)

    @property
    def stats(self) -> BrokerStats:
        """Current counters."""
        return BrokerStats(
            connections=len(self._online), sessions=len(self._sessions), retained=len(self._retained), **self._counters
        )

    def count(self, counter: str, amount: int = 1) -> None:
        """Add to one of the counters of :class:`BrokerStats`."""
        self._counters[counter] += amount

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peercert = writer.get_extra_info("peercert")
        if peer_serial(peercert) in self._revoked:
            self.count("refused_connections")
            writer.close()
            return
        principal = principal_from_peercert(peercert)
        conn = Connection(self, reader, writer, principal)
        conn.task = asyncio.current_task()
        self._connections.add(conn)
        try:
            await conn.run()
        finally:
            self._connections.discard(conn)

    async def _sweep(self) -> None:
        while True:
            await self.clock.sleep(self._sweep_interval_s)
            now = self.clock.monotonic()
            for conn in list(self._online.values()):
                # MQTT-3.1.2-24: one and a half keep-alive periods without a packet end the connection.
                if conn.keep_alive_s and now - conn.last_seen > 1.5 * conn.keep_alive_s:
                    log.info("keep-alive timeout of %r", conn.client_id)
                    conn.close(Reason.KEEP_ALIVE_TIMEOUT)
            for session in [s for s in self._sessions.values() if s.expired(now)]:
                self._discard(session)

    # -- sessions ------------------------------------------------------------------------------------------------

    def attach(self, conn: Connection, connect: Connect) -> tuple[Session, bool]:
        """Give an accepted connection its session; takes over a live connection of the same identity.

        Returns:
            The session and whether it existed before (CONNACK Session Present).
        """
        principal = conn.principal
        assert principal is not None
        client_id = principal.name
        old_conn = self._online.get(client_id)
        if old_conn is not None and old_conn is not conn:
            # MQTT-3.1.4-3: the existing connection of this client id is closed; its will goes out first, as
            # Mosquitto does, so a takeover reads "offline, then online" and not the other way round.
            log.info("%r connected again: closing its previous connection", client_id)
            if old_conn.will is not None:
                self._publish_will(principal, old_conn.will, client_id)
                old_conn.will = None
            old_conn.close(Reason.SESSION_TAKEN_OVER)
        self._online[client_id] = conn
        self.count("connections_total")
        if connect.protocol_level == MQTT_5:
            expiry = get_int(connect.properties, PropertyId.SESSION_EXPIRY_INTERVAL) or 0
        else:
            expiry = 0 if connect.clean_start else NEVER_EXPIRES
        session = self._sessions.get(client_id)
        present = session is not None and not connect.clean_start
        if session is None or connect.clean_start:
            if session is not None:
                self._discard(session)
            session = Session(client_id, principal, expiry_interval=expiry, max_queued=self.max_queued_messages)
            self._sessions[client_id] = session
        session.expiry_interval = expiry
        session.principal = principal
        session.disconnected_at = None
        session.waker = None
        return session, present

    def connection_ended(self, conn: Connection, *, graceful: bool) -> None:
        """Detach the session of a finished connection and publish its will unless it said goodbye."""
        client_id = conn.client_id
        session = conn.session
        if session is not None and self._online.get(client_id) is conn:
            del self._online[client_id]
            session.waker = None
            session.disconnected_at = self.clock.monotonic()
            if session.expiry_interval == 0:
                self._discard(session)
            elif session.queue:
                # Offline sessions keep QoS 1 only (Mosquitto's default queue_qos0_messages false).
                kept = [d for d in session.queue if d.qos]
                session.queue.clear()
                session.queue.extend(kept)
            log.debug("%r disconnected%s", client_id, "" if graceful else " without DISCONNECT")
        if not graceful and conn.will is not None and conn.principal is not None and not self._stopping:
            self._publish_will(conn.principal, conn.will, client_id)
            conn.will = None

    def _discard(self, session: Session) -> None:
        for topic_filter in list(session.subscriptions):
            self.unsubscribe(session, topic_filter)
        if self._sessions.get(session.client_id) is session:
            del self._sessions[session.client_id]

    # -- subscriptions -------------------------------------------------------------------------------------------

    def subscribe(self, session: Session, topic_filter: str, options: SubOptions) -> bool:
        """Add or replace a subscription of ``session``; True if it replaced one."""
        existed = topic_filter in session.subscriptions
        session.subscriptions[topic_filter] = options
        group_name, inner = split_shared(topic_filter)
        if group_name is None:
            self._subscriptions.insert(inner, session.client_id, options)
            return existed
        group = self._groups.get(topic_filter)
        if group is None:
            group = self._groups[topic_filter] = _SharedGroup()
            self._shared.insert(inner, topic_filter, group)
        if session.client_id not in group.members:
            group.order.append(session.client_id)
        group.members[session.client_id] = options
        return existed

    def unsubscribe(self, session: Session, topic_filter: str) -> bool:
        """Remove a subscription of ``session``; True if it existed."""
        if session.subscriptions.pop(topic_filter, None) is None:
            return False
        group_name, inner = split_shared(topic_filter)
        if group_name is None:
            self._subscriptions.remove(inner, session.client_id)
            return True
        group = self._groups.get(topic_filter)
        if group is not None and group.members.pop(session.client_id, None) is not None:
            group.order.remove(session.client_id)
            if not group.members:
                del self._groups[topic_filter]
                self._shared.remove(inner, topic_filter)
        return True

    def retained_for(self, session: Session, topic_filter: str, options: SubOptions) -> list[Delivery]:
        """Retained messages a new subscription on the plain ``topic_filter`` receives (retain flag set)."""
        now = self.clock.monotonic()
        if "+" in topic_filter or "#" in topic_filter:
            candidates = [m for t, m in self._retained.items() if filter_matches(topic_filter, t)]
        else:
            exact = self._retained.get(topic_filter)
            candidates = [exact] if exact is not None else []
        ids = (options.subscription_id,) if options.subscription_id else ()
        out = []
        for message in candidates:
            if message.expires_at is not None and message.expires_at <= now:
                self._retained.pop(message.topic, None)
            elif self.authorizer.may_receive(session.principal, message.topic):
                out.append(Delivery(message, min(message.qos, options.qos), True, ids))
            else:
                self.count("denied_deliveries")
        return out

    # -- routing -------------------------------------------------------------------------------------------------

    def make_message(self, packet: Publish, origin: str) -> Message:
        """The routed form of a received PUBLISH (forwardable properties kept, expiry made absolute)."""
        return self._message(
            packet.topic, packet.payload, packet.qos, packet.retain, properties=packet.properties, origin=origin
        )

    def _message(
        self, topic: str, payload: bytes, qos: int, retain: bool, *, properties: Properties, origin: str
    ) -> Message:
        expires_at = None
        if properties:
            kept = []
            for pid, value in properties:
                if pid is PropertyId.MESSAGE_EXPIRY_INTERVAL and isinstance(value, int):
                    expires_at = self.clock.monotonic() + value
                elif pid not in _NOT_FORWARDED:
                    kept.append((pid, value))
            properties = tuple(kept)
        wire_props = encode_properties(properties)
        return Message(topic, payload, qos, retain, properties, origin, expires_at, encode_utf8(topic), wire_props)

    def _publish_will(self, principal: Principal, will: Will, client_id: str) -> None:
        if not self.authorizer.may_publish(principal, will.topic):
            self.count("denied_publishes")
            return
        message = self._message(
            will.topic, will.payload, will.qos, will.retain, properties=will.properties, origin=client_id
        )
        self.publish(message)

    def publish(self, message: Message) -> None:
        """Store (if retained) and deliver an authorised message to every matching subscription."""
        self._counters["messages_in"] += 1
        topic = message.topic
        if message.retain:
            if message.payload:
                self._retained[topic] = message
            else:
                self._retained.pop(topic, None)  # MQTT-3.3.1-10: an empty retained message clears the topic
        matches = self._subscriptions.match(topic)
        if len(matches) == 1:
            client_id, options = matches[0]
            ids = (options.subscription_id,) if options.subscription_id else ()
            self._deliver(
                client_id, message, options.qos, rap=options.retain_as_published, ids=ids, no_local=options.no_local
            )
        elif matches:
            self._deliver_merged(message, matches)
        if self._groups:
            for _, group in self._shared.match(topic):
                picked = group.pick(self._sessions)
                if picked is not None:
                    session, options = picked
                    ids = (options.subscription_id,) if options.subscription_id else ()
                    self._deliver(session.client_id, message, options.qos, rap=False, ids=ids, no_local=False)

    def _deliver_merged(self, message: Message, matches: list[tuple[str, SubOptions]]) -> None:
        # Overlapping subscriptions of one client get one copy at the highest QoS (MQTT 5.0 section 4.7.2 allows
        # either; one copy is what Mosquitto does), with every subscription identifier.
        merged: dict[str, tuple[int, bool, tuple[int, ...], bool]] = {}
        for client_id, options in matches:
            ids: tuple[int, ...] = (options.subscription_id,) if options.subscription_id else ()
            previous = merged.get(client_id)
            if previous is None:
                merged[client_id] = (options.qos, options.retain_as_published, ids, options.no_local)
            else:
                qos, rap, prev_ids, no_local = previous
                merged[client_id] = (
                    max(qos, options.qos),
                    rap or options.retain_as_published,
                    prev_ids + ids,
                    no_local and options.no_local,
                )
        for client_id, (qos, rap, ids, no_local) in merged.items():
            self._deliver(client_id, message, qos, rap=rap, ids=ids, no_local=no_local)

    def _deliver(
        self, client_id: str, message: Message, qos: int, *, rap: bool, ids: tuple[int, ...], no_local: bool
    ) -> None:
        if no_local and client_id == message.origin:
            return
        session = self._sessions.get(client_id)
        if session is None:
            return
        if not self.authorizer.may_receive(session.principal, message.topic):
            self._counters["denied_deliveries"] += 1
            return
        qos = min(qos, message.qos)
        if qos == 0 and session.waker is None:
            return  # offline sessions are not queued QoS 0 messages
        # The retain flag is kept on normal deliveries only with Retain As Published (MQTT-3.3.1-12/13).
        if not session.enqueue(Delivery(message, qos, message.retain and rap, ids)):
            self._counters["dropped_messages"] += 1
