"""One client connection: the MQTT conversation between a CONNECT and the end of the TCP stream.

Reading and writing are separate tasks. The reader decodes packets and handles them synchronously (routing a
PUBLISH only appends to other sessions' bounded queues), then waits for its own socket to drain, so a client
that does not read its acknowledgements slows down only itself. The writer sends the session's queue, at most
Receive Maximum QoS 1 messages in flight. Anything malformed ends this connection, never the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Final

from goflex.broker.embedded.auth import Principal
from goflex.broker.embedded.codec import StreamDecoder, encode, encode_publish
from goflex.broker.embedded.errors import REASON_PROTOCOL_ERROR, MalformedPacket, UnsupportedProtocol
from goflex.broker.embedded.matching import is_valid_filter, split_shared
from goflex.broker.embedded.packets import (
    MQTT_5,
    Auth,
    ConnAck,
    Connect,
    ConnectReturn311,
    Disconnect,
    Packet,
    PacketType,
    PingReq,
    PubAck,
    Publish,
    Reason,
    SubAck,
    Subscribe,
    UnsubAck,
    Unsubscribe,
    Will,
)
from goflex.broker.embedded.properties import PropertyId, encode_properties, get_int
from goflex.broker.embedded.session import Delivery, Session, SubOptions
from goflex.broker.embedded.wire import MAX_VARINT

if TYPE_CHECKING:
    from goflex.broker.embedded.server import EmbeddedBroker

log = logging.getLogger("goflex.broker.embedded")

CONNECT_TIMEOUT_S: Final = 10.0
"""Time a client has to send CONNECT after the TLS handshake [s]."""
_READ_CHUNK: Final = 65_536
_WRITE_BATCH: Final = 256  # packets written between two drains
_PINGRESP: Final = bytes((PacketType.PINGRESP << 4, 0))
_REFUSAL_311: Final = {
    Reason.UNSUPPORTED_PROTOCOL_VERSION: ConnectReturn311.UNACCEPTABLE_PROTOCOL_VERSION,
    Reason.CLIENT_IDENTIFIER_NOT_VALID: ConnectReturn311.IDENTIFIER_REJECTED,
    Reason.NOT_AUTHORIZED: ConnectReturn311.NOT_AUTHORIZED,
}
BAD_AUTHENTICATION_METHOD: Final = 0x8C


class Connection:
    """Serves one TLS connection (created by :class:`EmbeddedBroker` for each accepted socket)."""

    def __init__(
        self,
        broker: EmbeddedBroker,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        principal: Principal | None,
    ) -> None:
        self.broker = broker
        self.principal = principal
        self.level = MQTT_5
        self.session: Session | None = None
        self.will: Will | None = None
        self.keep_alive_s = 0
        self.last_seen = broker.clock.monotonic()
        self.receive_maximum = 0xFFFF
        self.max_packet_out = MAX_VARINT + 5
        self.task: asyncio.Task[None] | None = None
        self._reader = reader
        self._writer = writer
        self._decoder = StreamDecoder(max_packet_size=broker.max_packet_size)
        self._wake = asyncio.Event()
        self._closing = False
        self._graceful = False

    @property
    def client_id(self) -> str:
        """The certificate CN (empty before a principal is known)."""
        return self.principal.name if self.principal else ""

    # -- life cycle ----------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until it ends; never raises for anything the client does."""
        writer_task: asyncio.Task[None] | None = None
        try:
            if await self._open():
                writer_task = asyncio.create_task(self._write_loop())
                await self._read_loop()
        except UnsupportedProtocol as exc:
            # Answer in the 3.1.1 format every level understands: return code 1 (MQTT 5.0 3.1.2.2).
            self._send(bytes((PacketType.CONNACK << 4, 2, 0, ConnectReturn311.UNACCEPTABLE_PROTOCOL_VERSION)))
            log.info("refused a connection: %s", exc)
        except MalformedPacket as exc:
            self.broker.count("malformed_packets")
            log.warning("closing %r: malformed packet: %s", self.client_id or "?", exc)
            self._send_disconnect(exc.reason_code)
        except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError):
            pass  # the network went away; the will (if any) is published below
        except asyncio.CancelledError:
            if not self._closing:
                raise
        finally:
            self._closing = True
            if writer_task is not None:
                writer_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await writer_task
            self.broker.connection_ended(self, graceful=self._graceful)
            await self._close_transport()

    def close(self, reason: int) -> None:
        """End the connection from outside (takeover, keep-alive, administrative disconnect, shutdown)."""
        if self._closing:
            return
        self._send_disconnect(reason)
        self._closing = True
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()

    def wake(self) -> None:
        """Tell the writer that the session's queue has something (called on every delivery)."""
        self._wake.set()

    async def _close_transport(self) -> None:
        writer = self._writer
        with contextlib.suppress(Exception):
            writer.close()
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        if not writer.transport.is_closing():
            writer.transport.abort()

    def _send(self, data: bytes) -> None:
        if not self._writer.transport.is_closing():
            self._writer.write(data)

    def _send_disconnect(self, reason: int) -> None:
        # MQTT 3.1.1 has no server DISCONNECT: the server just closes the connection.
        if self.level == MQTT_5 and self.session is not None:
            self._send(encode(Disconnect(reason), MQTT_5))

    # -- CONNECT -------------------------------------------------------------------------------------------------

    async def _open(self) -> bool:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            packet = None
            while packet is None:
                data = await self._reader.read(_READ_CHUNK)
                if not data:
                    return False
                self._decoder.feed(data)
                packet = self._decoder.next_packet()
        if not isinstance(packet, Connect):
            raise MalformedPacket("the first packet must be CONNECT", reason_code=REASON_PROTOCOL_ERROR)
        return await self._accept(packet)

    def _refuse(self, reason: Reason) -> bool:
        code = reason if self.level == MQTT_5 else _REFUSAL_311.get(reason, ConnectReturn311.SERVER_UNAVAILABLE)
        self._send(encode(ConnAck(False, int(code)), self.level))
        self.broker.count("refused_connections")
        log.info("refused connection of %r: %s", self.client_id or "?", reason.name)
        return False

    async def _accept(self, connect: Connect) -> bool:
        self.level = connect.protocol_level
        props = connect.properties
        principal = self.principal
        if principal is None:
            return self._refuse(Reason.NOT_AUTHORIZED)
        if get_int(props, PropertyId.RECEIVE_MAXIMUM) == 0 or get_int(props, PropertyId.MAXIMUM_PACKET_SIZE) == 0:
            raise MalformedPacket("Receive Maximum or Maximum Packet Size of 0", reason_code=REASON_PROTOCOL_ERROR)
        if any(pid is PropertyId.AUTHENTICATION_METHOD for pid, _ in props):
            self._send(encode(ConnAck(False, BAD_AUTHENTICATION_METHOD), self.level))
            return False
        if connect.will is not None and not self.broker.authorizer.may_publish(principal, connect.will.topic):
            # Mosquitto 2 checks the will topic against the ACL at CONNECT and refuses the connection.
            self.broker.count("denied_publishes")
            return self._refuse(Reason.NOT_AUTHORIZED)
        self.keep_alive_s = connect.keep_alive
        self.receive_maximum = get_int(props, PropertyId.RECEIVE_MAXIMUM) or 0xFFFF
        self.max_packet_out = get_int(props, PropertyId.MAXIMUM_PACKET_SIZE) or MAX_VARINT + 5
        self.will = connect.will
        session, present = self.broker.attach(self, connect)
        self.session = session
        out_props: list[tuple[PropertyId, int | str]] = [
            (PropertyId.TOPIC_ALIAS_MAXIMUM, 0),  # topic aliases are refused
            (PropertyId.MAXIMUM_PACKET_SIZE, self.broker.max_packet_size),
        ]
        if connect.client_id != principal.name:
            # use_username_as_clientid: the certificate decides the client id; MQTT 5 tells the client.
            out_props.append((PropertyId.ASSIGNED_CLIENT_IDENTIFIER, principal.name))
        ack = ConnAck(present, 0, tuple(out_props) if self.level == MQTT_5 else ())
        self._send(encode(ack, self.level))
        for packet_id, delivery in session.inflight.items():  # MQTT-4.4.0-1: resend unacknowledged, DUP set
            self._send(self._encode_delivery(delivery, packet_id, dup=True))
        session.waker = self.wake
        self._wake.set()
        log.debug(
            "%s %r connected (MQTT level %d, session present %s)", principal.kind, principal.name, self.level, present
        )
        return True

    # -- reading -------------------------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        reader = self._reader
        decoder = self._decoder
        clock = self.broker.clock
        while not self._closing:
            data = await reader.read(_READ_CHUNK)
            if not data:
                return
            self.last_seen = clock.monotonic()
            decoder.feed(data)
            while (packet := decoder.next_packet()) is not None:
                if not self._handle(packet):
                    return
            await self._writer.drain()

    def _handle(self, packet: Packet) -> bool:
        """Handle one packet; False ends the connection."""
        match packet:
            case Publish():
                self._on_publish(packet)
            case PubAck(kind=PacketType.PUBACK):
                assert self.session is not None
                if self.session.inflight.pop(packet.packet_id, None) is not None:
                    self._wake.set()
            case PubAck(kind=PacketType.PUBREL):
                assert self.session is not None
                known = packet.packet_id in self.session.awaiting_release
                self.session.awaiting_release.discard(packet.packet_id)
                reason = 0 if known or self.level != MQTT_5 else Reason.PACKET_IDENTIFIER_NOT_FOUND
                self._send(encode(PubAck(PacketType.PUBCOMP, packet.packet_id, reason), self.level))
            case PubAck():
                pass  # PUBREC/PUBCOMP: the broker never sends QoS 2, so there is nothing to continue
            case Subscribe():
                self._on_subscribe(packet)
            case Unsubscribe():
                self._on_unsubscribe(packet)
            case PingReq():
                self._send(_PINGRESP)
            case Disconnect():
                self._on_disconnect(packet)
                return False
            case Connect() | Auth():
                raise MalformedPacket(f"unexpected {type(packet).__name__}", reason_code=REASON_PROTOCOL_ERROR)
            case _:
                raise MalformedPacket("a server-to-client packet sent by a client", reason_code=REASON_PROTOCOL_ERROR)
        return True

    def _on_disconnect(self, packet: Disconnect) -> None:
        # MQTT 5 reason 0x04 asks for the will to be sent anyway.
        self._graceful = packet.reason_code != Reason.DISCONNECT_WITH_WILL
        expiry = get_int(packet.properties, PropertyId.SESSION_EXPIRY_INTERVAL)
        if expiry is not None and self.session is not None and self.session.expiry_interval:
            self.session.expiry_interval = expiry  # MQTT 5.0 3.14.2.2.2 (0 -> non-zero is a protocol error)

    def _on_publish(self, packet: Publish) -> None:
        session = self.session
        principal = self.principal
        assert session is not None
        assert principal is not None
        v5 = self.level == MQTT_5
        if v5 and any(pid is PropertyId.TOPIC_ALIAS for pid, _ in packet.properties):
            raise MalformedPacket("topic alias used, Topic Alias Maximum is 0", reason_code=Reason.TOPIC_ALIAS_INVALID)
        if not packet.topic:
            raise MalformedPacket("empty topic name", reason_code=REASON_PROTOCOL_ERROR)
        qos = packet.qos
        packet_id = packet.packet_id
        broker = self.broker
        if qos == 2 and packet_id in session.awaiting_release:
            self._send(encode(PubAck(PacketType.PUBREC, packet_id), self.level))  # duplicate: already routed
            return
        allowed = broker.authorizer.may_publish(principal, packet.topic)
        if allowed:
            broker.publish(broker.make_message(packet, session.client_id))
        else:
            broker.count("denied_publishes")
            log.debug("denied publish by %r to %r", principal.name, packet.topic)
        if qos == 0 or packet_id is None:
            return
        # Like Mosquitto: MQTT 5 learns the denial (135), MQTT 3.1.1 gets a normal acknowledgement.
        reason = Reason.NOT_AUTHORIZED if v5 and not allowed else 0
        if qos == 1:
            self._send(encode(PubAck(PacketType.PUBACK, packet_id, reason), self.level))
            return
        if not reason:
            session.awaiting_release.add(packet_id)
        self._send(encode(PubAck(PacketType.PUBREC, packet_id, reason), self.level))

    def _on_subscribe(self, packet: Subscribe) -> None:
        session = self.session
        principal = self.principal
        assert session is not None
        assert principal is not None
        v5 = self.level == MQTT_5
        broker = self.broker
        sub_id = get_int(packet.properties, PropertyId.SUBSCRIPTION_IDENTIFIER) if v5 else None
        codes: list[int] = []
        retained: list[Delivery] = []
        for sub in packet.subscriptions:
            group, inner = split_shared(sub.topic_filter)
            if not is_valid_filter(sub.topic_filter):
                codes.append(Reason.TOPIC_FILTER_INVALID if v5 else 0x80)
                continue
            if not broker.authorizer.may_subscribe(principal, sub.topic_filter):
                broker.count("denied_subscriptions")
                codes.append(Reason.NOT_AUTHORIZED if v5 else 0x80)
                continue
            # Deliveries are QoS 0 or 1 only; granting a lower QoS than asked is allowed (MQTT 5.0 3.9.3).
            granted = min(sub.qos, 1)
            options = SubOptions(
                granted, sub.no_local and group is None, sub.retain_as_published, sub.retain_handling, sub_id
            )
            existed = broker.subscribe(session, sub.topic_filter, options)
            codes.append(granted)
            if group is None and (sub.retain_handling == 0 or (sub.retain_handling == 1 and not existed)):
                retained += broker.retained_for(session, inner, options)
        self._send(encode(SubAck(packet.packet_id, tuple(codes)), self.level))
        for delivery in retained:
            if not session.enqueue(delivery):
                broker.count("dropped_messages")

    def _on_unsubscribe(self, packet: Unsubscribe) -> None:
        session = self.session
        assert session is not None
        codes = tuple(
            Reason.SUCCESS if self.broker.unsubscribe(session, f) else Reason.NO_SUBSCRIPTION_EXISTED
            for f in packet.topic_filters
        )
        self._send(encode(UnsubAck(packet.packet_id, codes if self.level == MQTT_5 else ()), self.level))

    # -- writing -------------------------------------------------------------------------------------------------

    def _encode_delivery(self, delivery: Delivery, packet_id: int | None, *, dup: bool) -> bytes:
        message = delivery.message
        props = b""
        if self.level == MQTT_5:
            props = message.properties_wire
            if message.expires_at is not None or delivery.subscription_ids:
                extra = list(message.properties)
                if message.expires_at is not None:
                    remaining = max(1, round(message.expires_at - self.broker.clock.monotonic()))
                    extra.append((PropertyId.MESSAGE_EXPIRY_INTERVAL, remaining))
                extra += [(PropertyId.SUBSCRIPTION_IDENTIFIER, i) for i in delivery.subscription_ids]
                props = encode_properties(tuple(extra))
        return encode_publish(
            message.topic_wire,
            message.payload,
            qos=delivery.qos,
            retain=delivery.retain,
            dup=dup,
            packet_id=packet_id,
            properties=props,
        )

    async def _write_loop(self) -> None:
        session = self.session
        assert session is not None
        writer = self._writer
        wake = self._wake
        clock = self.broker.clock
        broker = self.broker
        while True:
            await wake.wait()
            wake.clear()
            queue = session.queue
            inflight = session.inflight
            while queue and len(inflight) < self.receive_maximum:
                sent = 0
                now = clock.monotonic()
                while queue and sent < _WRITE_BATCH and len(inflight) < self.receive_maximum:
                    if self._closing:
                        return  # taken over or closed: the queue now belongs to the next connection
                    delivery = queue.popleft()
                    expires_at = delivery.message.expires_at
                    if expires_at is not None and expires_at <= now:
                        continue  # MQTT 5.0 3.3.2.3.3: expired messages are not delivered
                    packet_id = session.allocate_packet_id() if delivery.qos else None
                    data = self._encode_delivery(delivery, packet_id, dup=False)
                    if len(data) > self.max_packet_out:
                        broker.count("dropped_messages")  # MQTT 5.0 3.1.2.11.4: discard, as if delivered
                        continue
                    if packet_id is not None:
                        inflight[packet_id] = delivery
                    writer.write(data)
                    sent += 1
                broker.count("messages_out", sent)
                await writer.drain()
