"""Encode and decode MQTT control packets, MQTT 3.1.1 (level 4) and 5.0 (level 5) (pure).

* :func:`encode` turns a packet into bytes for a given protocol level; :func:`decode_packet` does the reverse
  for one packet body; ``decode_packet(encode(p))`` gives ``p`` back for every packet the level can express.
* :class:`StreamDecoder` cuts a byte stream into packets. For *any* input it either returns packets or raises
  :class:`MalformedPacket` (or a subclass): it is the only thing between the network and the broker's state.
* :func:`encode_publish` is the fast path for outgoing messages: the topic and properties are encoded once per
  message and reused for every subscriber.

Strictness follows the "MUST" statements of both standards: reserved flag bits, QoS 3, DUP on QoS 0, packet
identifier 0, wildcards in a topic name, trailing bytes, empty SUBSCRIBE/UNSUBSCRIBE, a 3.1.1 password without a
user name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from goflex.broker.embedded.errors import (
    REASON_PROTOCOL_ERROR,
    MalformedPacket,
    PacketTooLarge,
    UnsupportedProtocol,
)
from goflex.broker.embedded.packets import (
    MQTT_5,
    PROTOCOL_LEVELS,
    Auth,
    ConnAck,
    Connect,
    Disconnect,
    Packet,
    PacketType,
    PingReq,
    PingResp,
    PubAck,
    Publish,
    SubAck,
    Subscribe,
    Subscription,
    UnsubAck,
    Unsubscribe,
    Will,
)
from goflex.broker.embedded.properties import NO_PROPERTIES, Properties, decode_properties, encode_properties
from goflex.broker.embedded.wire import MAX_VARINT, Reader, encode_binary, encode_utf8, encode_varint

DEFAULT_MAX_PACKET_SIZE: Final = 1024 * 1024
"""Largest packet accepted by default, fixed header included [bytes] (1 MiB)."""
_REL_FLAGS: Final = 0b0010  # PUBREL, SUBSCRIBE, UNSUBSCRIBE (MQTT 5.0 table 2-2)
_PING_REQ: Final = bytes((PacketType.PINGREQ << 4, 0))
_PING_RESP: Final = bytes((PacketType.PINGRESP << 4, 0))


def _frame(first: int, body: bytes) -> bytes:
    return bytes((first,)) + encode_varint(len(body)) + body


def _props(level: int, props: Properties) -> bytes:
    return encode_properties(props) if level == MQTT_5 else b""


def _encode_connect(p: Connect, level: int) -> bytes:
    will = p.will
    flags = (p.clean_start << 1) | ((p.username is not None) << 7) | ((p.password is not None) << 6)
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (will.retain << 5)
    out = [encode_utf8("MQTT"), bytes((p.protocol_level, flags)), p.keep_alive.to_bytes(2, "big")]
    out += [_props(level, p.properties), encode_utf8(p.client_id)]
    if will is not None:
        out += [_props(level, will.properties), encode_utf8(will.topic), encode_binary(will.payload)]
    if p.username is not None:
        out.append(encode_utf8(p.username))
    if p.password is not None:
        out.append(encode_binary(p.password))
    return _frame(PacketType.CONNECT << 4, b"".join(out))


def encode_publish(
    topic: bytes, payload: bytes, *, qos: int, retain: bool, dup: bool, packet_id: int | None, properties: bytes
) -> bytes:
    """Encode a PUBLISH from parts that are already encoded.

    Args:
        topic: The topic as an MQTT UTF-8 string (length prefix included).
        payload: Application message.
        qos: 0, 1 or 2.
        retain: Retain flag as sent to this receiver.
        dup: Redelivery flag.
        packet_id: Required for QoS 1 and 2.
        properties: Encoded properties (length included) under MQTT 5, ``b""`` under 3.1.1.
    """
    first = (PacketType.PUBLISH << 4) | (dup << 3) | (qos << 1) | retain
    pid = packet_id.to_bytes(2, "big") if qos and packet_id is not None else b""
    length = len(topic) + len(pid) + len(properties) + len(payload)
    return b"".join((bytes((first,)), encode_varint(length), topic, pid, properties, payload))


def _encode_ack(p: PubAck, level: int) -> bytes:
    first = (p.kind << 4) | (_REL_FLAGS if p.kind is PacketType.PUBREL else 0)
    body = p.packet_id.to_bytes(2, "big")
    if level == MQTT_5 and (p.reason_code or p.properties):
        body += bytes((p.reason_code,))
        if p.properties:
            body += encode_properties(p.properties)
    return _frame(first, body)


def _encode_subscribe(p: Subscribe, level: int) -> bytes:
    parts = [p.packet_id.to_bytes(2, "big"), _props(level, p.properties)]
    for s in p.subscriptions:
        options = s.qos | (s.no_local << 2) | (s.retain_as_published << 3) | (s.retain_handling << 4)
        parts += [encode_utf8(s.topic_filter), bytes((options,))]
    return _frame((PacketType.SUBSCRIBE << 4) | _REL_FLAGS, b"".join(parts))


def _encode_reasoned(kind: PacketType, reason_code: int, props: Properties, level: int) -> bytes:
    # DISCONNECT and AUTH: reason and properties may be left out when they are the defaults (MQTT 5.0 3.14.2.1).
    if level != MQTT_5 or (reason_code == 0 and not props):
        return _frame(kind << 4, b"")
    body = bytes((reason_code,)) + (encode_properties(props) if props else b"")
    return _frame(kind << 4, body)


def encode(packet: Packet, level: int) -> bytes:  # noqa: PLR0911, PLR0912 - one branch per packet type
    """Encode ``packet`` for protocol ``level`` (4 or 5).

    Raises:
        ValueError: a field cannot be encoded (string too long, value out of range).
    """
    match packet:
        case Publish():
            props = _props(level, packet.properties)
            return encode_publish(
                encode_utf8(packet.topic),
                packet.payload,
                qos=packet.qos,
                retain=packet.retain,
                dup=packet.dup,
                packet_id=packet.packet_id,
                properties=props,
            )
        case PubAck():
            return _encode_ack(packet, level)
        case Connect():
            return _encode_connect(packet, packet.protocol_level)
        case ConnAck():
            body = bytes((int(packet.session_present), packet.reason_code)) + _props(level, packet.properties)
            return _frame(PacketType.CONNACK << 4, body)
        case Subscribe():
            return _encode_subscribe(packet, level)
        case SubAck():
            body = packet.packet_id.to_bytes(2, "big") + _props(level, packet.properties) + bytes(packet.reason_codes)
            return _frame(PacketType.SUBACK << 4, body)
        case Unsubscribe():
            parts = [packet.packet_id.to_bytes(2, "big"), _props(level, packet.properties)]
            parts += [encode_utf8(f) for f in packet.topic_filters]
            return _frame((PacketType.UNSUBSCRIBE << 4) | _REL_FLAGS, b"".join(parts))
        case UnsubAck():
            body = packet.packet_id.to_bytes(2, "big")
            if level == MQTT_5:
                body += encode_properties(packet.properties) + bytes(packet.reason_codes)
            return _frame(PacketType.UNSUBACK << 4, body)
        case PingReq():
            return _PING_REQ
        case PingResp():
            return _PING_RESP
        case Disconnect():
            return _encode_reasoned(PacketType.DISCONNECT, packet.reason_code, packet.properties, level)
        case Auth():
            return _encode_reasoned(PacketType.AUTH, packet.reason_code, packet.properties, level)
    raise TypeError(f"not a packet: {packet!r}")


# -- decoding ------------------------------------------------------------------------------------------------------


def _packet_id(r: Reader) -> int:
    pid = r.u16()
    if pid == 0:
        raise MalformedPacket("packet identifier 0", reason_code=REASON_PROTOCOL_ERROR)
    return pid


def _topic_name(r: Reader) -> str:
    topic = r.utf8()
    if "+" in topic or "#" in topic:
        raise MalformedPacket("wildcard in a topic name", reason_code=0x90)
    return topic


def _decode_connect(r: Reader) -> Connect:
    name = r.utf8()
    level = r.u8()
    if name != "MQTT" or level not in PROTOCOL_LEVELS:
        raise UnsupportedProtocol(name, level)
    flags = r.u8()
    if flags & 0x01:
        raise MalformedPacket("CONNECT reserved flag set")
    keep_alive = r.u16()
    v5 = level == MQTT_5
    props = decode_properties(r) if v5 else NO_PROPERTIES
    client_id = r.utf8()
    will = None
    if flags & 0x04:
        will_props = decode_properties(r) if v5 else NO_PROPERTIES
        topic = _topic_name(r)
        payload = r.binary()
        qos = (flags >> 3) & 0x03
        if qos == 3:
            raise MalformedPacket("will QoS 3")
        will = Will(topic, payload, qos, bool(flags & 0x20), will_props)
    elif flags & 0x38:
        raise MalformedPacket("will QoS or retain set without a will")
    username = r.utf8() if flags & 0x80 else None
    password = None
    if flags & 0x40:
        if not v5 and username is None:
            raise MalformedPacket("MQTT 3.1.1 password without user name")
        password = r.binary()
    r.expect_end()
    return Connect(level, client_id, bool(flags & 0x02), keep_alive, props, will, username, password)


def _decode_publish(first: int, r: Reader, v5: bool) -> Publish:
    qos = (first >> 1) & 0x03
    dup = bool(first & 0x08)
    if qos == 3:
        raise MalformedPacket("PUBLISH with QoS 3")
    if dup and qos == 0:
        raise MalformedPacket("DUP set on a QoS 0 PUBLISH")
    topic = _topic_name(r)
    packet_id = _packet_id(r) if qos else None
    props = decode_properties(r) if v5 else NO_PROPERTIES
    return Publish(topic, r.rest(), qos, bool(first & 0x01), dup, packet_id, props)


def _decode_ack(kind: PacketType, r: Reader, v5: bool) -> PubAck:
    pid = _packet_id(r)
    reason = 0
    props = NO_PROPERTIES
    if v5 and r.remaining:
        reason = r.u8()
        if r.remaining:
            props = decode_properties(r)
    r.expect_end()
    return PubAck(kind, pid, reason, props)


def _decode_subscribe(r: Reader, v5: bool) -> Subscribe:
    pid = _packet_id(r)
    props = decode_properties(r) if v5 else NO_PROPERTIES
    subs = []
    while r.remaining:
        topic_filter = r.utf8()
        options = r.u8()
        qos = options & 0x03
        retain_handling = (options >> 4) & 0x03
        if qos == 3 or options & (0xC0 if v5 else 0xFC) or retain_handling == 3:
            raise MalformedPacket("invalid subscription options")
        subs.append(Subscription(topic_filter, qos, bool(options & 0x04), bool(options & 0x08), retain_handling))
    if not subs:
        raise MalformedPacket("SUBSCRIBE without a topic filter", reason_code=REASON_PROTOCOL_ERROR)
    return Subscribe(pid, tuple(subs), props)


def _decode_unsubscribe(r: Reader, v5: bool) -> Unsubscribe:
    pid = _packet_id(r)
    props = decode_properties(r) if v5 else NO_PROPERTIES
    filters = []
    while r.remaining:
        filters.append(r.utf8())
    if not filters:
        raise MalformedPacket("UNSUBSCRIBE without a topic filter", reason_code=REASON_PROTOCOL_ERROR)
    return Unsubscribe(pid, tuple(filters), props)


def _decode_reasoned(r: Reader, v5: bool) -> tuple[int, Properties]:
    reason = 0
    props = NO_PROPERTIES
    if v5 and r.remaining:
        reason = r.u8()
        if r.remaining:
            props = decode_properties(r)
    r.expect_end()
    return reason, props


def _decode_connack(r: Reader, v5: bool) -> ConnAck:
    flags = r.u8()
    if flags & 0xFE:
        raise MalformedPacket("CONNACK reserved flags set")
    reason = r.u8()
    props = decode_properties(r) if v5 else NO_PROPERTIES
    r.expect_end()
    return ConnAck(bool(flags), reason, props)


def _decode_suback(r: Reader, v5: bool) -> SubAck:
    pid = _packet_id(r)
    props = decode_properties(r) if v5 else NO_PROPERTIES
    codes = tuple(r.rest())
    if not codes:
        raise MalformedPacket("SUBACK without reason codes")
    return SubAck(pid, codes, props)


def _decode_unsuback(r: Reader, v5: bool) -> UnsubAck:
    pid = _packet_id(r)
    if not v5:
        r.expect_end()
        return UnsubAck(pid)
    props = decode_properties(r)
    return UnsubAck(pid, tuple(r.rest()), props)


def _decode_empty(packet: PingReq | PingResp) -> Callable[[Reader, bool], Packet]:
    def decode(r: Reader, v5: bool) -> Packet:
        r.expect_end()
        return packet

    return decode


def _decode_disconnect(r: Reader, v5: bool) -> Disconnect:
    return Disconnect(*_decode_reasoned(r, v5))


def _decode_auth(r: Reader, v5: bool) -> Auth:
    if not v5:
        raise MalformedPacket("AUTH does not exist in MQTT 3.1.1")
    return Auth(*_decode_reasoned(r, v5))


_DECODERS: Final[dict[int, Callable[[Reader, bool], Packet]]] = {
    PacketType.CONNACK: _decode_connack,
    PacketType.SUBSCRIBE: _decode_subscribe,
    PacketType.SUBACK: _decode_suback,
    PacketType.UNSUBSCRIBE: _decode_unsubscribe,
    PacketType.UNSUBACK: _decode_unsuback,
    PacketType.PINGREQ: _decode_empty(PingReq()),
    PacketType.PINGRESP: _decode_empty(PingResp()),
    PacketType.DISCONNECT: _decode_disconnect,
    PacketType.AUTH: _decode_auth,
}
_ACK_KINDS: Final = {t: PacketType(t) for t in (4, 5, 6, 7)}


def decode_packet(first: int, body: bytes, level: int) -> Packet:
    """Decode one packet from its first byte and its body (the bytes after the remaining length).

    Raises:
        MalformedPacket: the packet is not valid for ``level``.
    """
    kind = first >> 4
    flags = first & 0x0F
    v5 = level == MQTT_5
    r = Reader(body)
    if kind == PacketType.PUBLISH:
        return _decode_publish(first, r, v5)
    expected = _REL_FLAGS if kind in (PacketType.PUBREL, PacketType.SUBSCRIBE, PacketType.UNSUBSCRIBE) else 0
    if flags != expected:
        raise MalformedPacket(f"reserved flags {flags:#x} on packet type {kind}")
    ack = _ACK_KINDS.get(kind)
    if ack is not None:
        return _decode_ack(ack, r, v5)
    if kind == PacketType.CONNECT:
        return _decode_connect(r)
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise MalformedPacket("reserved packet type 0")
    return decoder(r, v5)


class StreamDecoder:
    """Cuts a byte stream into packets.

    Args:
        max_packet_size: Largest packet accepted, fixed header included [bytes].
        protocol_level: Level used before a CONNECT is seen; a decoded CONNECT switches to its own level.
    """

    __slots__ = ("_buf", "max_packet_size", "protocol_level")

    def __init__(self, *, max_packet_size: int = DEFAULT_MAX_PACKET_SIZE, protocol_level: int = MQTT_5) -> None:
        self._buf = bytearray()
        self.max_packet_size = max_packet_size
        self.protocol_level = protocol_level

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        self._buf += data

    def next_packet(self) -> Packet | None:
        """The next complete packet, or None when more bytes are needed.

        Raises:
            MalformedPacket: the stream is not valid MQTT; the decoder must not be used afterwards.
        """
        buf = self._buf
        size = len(buf)
        if size < 2:
            return None
        length = 0
        shift = 0
        index = 1
        while True:
            if index >= size:
                return None
            byte = buf[index]
            length |= (byte & 0x7F) << shift
            index += 1
            if not byte & 0x80:
                break
            shift += 7
            if shift > 21:
                raise MalformedPacket("remaining length longer than four bytes")
        total = index + length
        if total > self.max_packet_size:
            raise PacketTooLarge(total, self.max_packet_size)
        if size < total:
            return None
        first = buf[0]
        body = bytes(buf[index:total])
        del buf[:total]
        packet = decode_packet(first, body, self.protocol_level)
        if isinstance(packet, Connect):
            self.protocol_level = packet.protocol_level
        return packet


def decode_all(data: bytes, *, level: int = MQTT_5, max_packet_size: int = MAX_VARINT + 5) -> list[Packet]:
    """Decode every complete packet in ``data`` (a convenience for tests and tools).

    Raises:
        MalformedPacket: ``data`` holds an invalid packet.
    """
    decoder = StreamDecoder(max_packet_size=max_packet_size, protocol_level=level)
    decoder.feed(data)
    out = []
    while (packet := decoder.next_packet()) is not None:
        out.append(packet)
    return out
