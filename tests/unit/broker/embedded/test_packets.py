"""Property tests of the embedded broker's packet codec: exact round trips and total decoding."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goflex.broker.embedded.codec import StreamDecoder, decode_all, encode
from goflex.broker.embedded.errors import MalformedPacket, PacketTooLarge, UnsupportedProtocol
from goflex.broker.embedded.packets import (
    MQTT_5,
    MQTT_311,
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
from goflex.broker.embedded.properties import REPEATABLE, TYPES, PropertyId, PropertyType, value_limits
from goflex.broker.embedded.wire import MAX_VARINT, Reader, encode_varint

TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
TOPIC = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00+#"), max_size=12)
PAYLOAD = st.binary(max_size=64)
PACKET_ID = st.integers(1, 0xFFFF)
QOS = st.integers(0, 2)
BYTE = st.integers(0, 0xFF)


def _value(kind: PropertyType) -> st.SearchStrategy[int | str | bytes | tuple[str, str]]:
    if kind is PropertyType.UTF8:
        return TEXT
    if kind is PropertyType.BINARY:
        return st.binary(max_size=16)
    if kind is PropertyType.PAIR:
        return st.tuples(TEXT, TEXT)
    low, high = value_limits(kind)
    return st.integers(low, high)


@st.composite
def properties(draw: st.DrawFn) -> tuple[tuple[PropertyId, int | str | bytes | tuple[str, str]], ...]:
    ids = draw(st.lists(st.sampled_from(list(PropertyId)), max_size=5))
    seen: set[PropertyId] = set()
    out = []
    for pid in ids:
        if pid in seen and pid not in REPEATABLE:
            continue
        seen.add(pid)
        out.append((pid, draw(_value(TYPES[pid]))))
    return tuple(out)


def _packets(level: int) -> st.SearchStrategy[Packet]:
    v5 = level == MQTT_5
    props = properties() if v5 else st.just(())
    reason = BYTE if v5 else st.just(0)
    will = st.builds(Will, TOPIC, PAYLOAD, QOS, st.booleans(), props)
    username = st.none() | TEXT
    password = st.none() | st.binary(max_size=16)
    connect = st.builds(
        Connect,
        st.just(level),
        TEXT,
        st.booleans(),
        st.integers(0, 0xFFFF),
        props,
        st.none() | will,
        username,
        password,
    ).filter(lambda c: v5 or c.password is None or c.username is not None)
    publish = st.builds(
        lambda topic, payload, qos, retain, dup, pid, p: Publish(
            topic, payload, qos, retain, dup and qos > 0, pid if qos else None, p
        ),
        TOPIC,
        PAYLOAD,
        QOS,
        st.booleans(),
        st.booleans(),
        PACKET_ID,
        props,
    )
    ack_kinds = st.sampled_from([PacketType.PUBACK, PacketType.PUBREC, PacketType.PUBREL, PacketType.PUBCOMP])
    subscription = st.builds(
        Subscription,
        TEXT,
        QOS,
        st.booleans() if v5 else st.just(False),
        st.booleans() if v5 else st.just(False),
        st.integers(0, 2) if v5 else st.just(0),
    )
    strategies: list[st.SearchStrategy[Packet]] = [
        connect,
        st.builds(ConnAck, st.booleans(), BYTE, props),
        publish,
        st.builds(PubAck, ack_kinds, PACKET_ID, reason, props),
        st.builds(Subscribe, PACKET_ID, st.lists(subscription, min_size=1, max_size=4).map(tuple), props),
        st.builds(SubAck, PACKET_ID, st.lists(BYTE, min_size=1, max_size=4).map(tuple), props),
        st.builds(Unsubscribe, PACKET_ID, st.lists(TEXT, min_size=1, max_size=4).map(tuple), props),
        st.builds(UnsubAck, PACKET_ID, st.lists(BYTE, min_size=1, max_size=4).map(tuple) if v5 else st.just(()), props),
        st.just(PingReq()),
        st.just(PingResp()),
        st.builds(Disconnect, reason, props),
    ]
    if v5:
        strategies.append(st.builds(Auth, BYTE, props))
    return st.one_of(strategies)


@pytest.mark.parametrize("level", [MQTT_311, MQTT_5])
@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_packet_survives_encode_then_decode(level: int, data: st.DataObject) -> None:
    packet = data.draw(_packets(level))
    assert decode_all(encode(packet, level), level=level) == [packet]


@pytest.mark.parametrize("level", [MQTT_311, MQTT_5])
@settings(max_examples=200)
@given(data=st.data())
def test_a_stream_cut_anywhere_yields_the_same_packets(level: int, data: st.DataObject) -> None:
    packets = data.draw(st.lists(_packets(level), min_size=1, max_size=6))
    stream = b"".join(encode(p, level) for p in packets)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder = StreamDecoder(protocol_level=level)
    decoded: list[Packet] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        decoder.feed(stream[start:end])
        while (packet := decoder.next_packet()) is not None:
            decoded.append(packet)
    assert decoded == packets


@given(st.integers(0, MAX_VARINT))
def test_variable_byte_integer_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert 1 <= len(encoded) <= 4
    assert Reader(encoded).varint() == value


@pytest.mark.parametrize(
    ("value", "size"), [(0, 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3), (2_097_151, 3), (2_097_152, 4)]
)
def test_variable_byte_integer_sizes_match_the_standard(value: int, size: int) -> None:
    assert len(encode_varint(value)) == size


@pytest.mark.parametrize("value", [-1, MAX_VARINT + 1])
def test_variable_byte_integer_out_of_range_is_refused(value: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        encode_varint(value)


def test_a_five_byte_remaining_length_is_malformed() -> None:
    decoder = StreamDecoder()
    decoder.feed(bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]))
    with pytest.raises(MalformedPacket):
        decoder.next_packet()


def test_a_packet_above_the_limit_is_refused_before_its_body_arrives() -> None:
    decoder = StreamDecoder(max_packet_size=1024)
    decoder.feed(encode(Publish("a", b"x" * 2000), MQTT_5)[:10])
    with pytest.raises(PacketTooLarge) as info:
        decoder.next_packet()
    assert info.value.reason_code == 0x95


def test_a_connect_for_mqtt_3_1_is_an_unsupported_protocol() -> None:
    body = b"\x00\x06MQIsdp\x03\x02\x00\x3c\x00\x01c"
    with pytest.raises(UnsupportedProtocol):
        decode_all(bytes([0x10, len(body)]) + body)


@pytest.mark.parametrize(
    "raw",
    [
        bytes([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]),  # PUBLISH QoS 3
        bytes([0x38, 0x03, 0x00, 0x01, 0x61]),  # DUP on QoS 0
        bytes([0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00]),  # packet identifier 0
        bytes([0x30, 0x04, 0x00, 0x01, 0x23, 0x00]),  # wildcard '#' in a topic name
        bytes([0x80, 0x04, 0x00, 0x01, 0x00, 0x00]),  # SUBSCRIBE with reserved flags 0
        bytes([0x82, 0x03, 0x00, 0x01, 0x00]),  # SUBSCRIBE without a filter
        bytes([0xC0, 0x01, 0x00]),  # PINGREQ with a body
        bytes([0x00, 0x00]),  # reserved packet type 0
        bytes([0x30, 0x04, 0x00, 0x02, 0xC3, 0x28]),  # topic not UTF-8
        bytes([0x30, 0x04, 0x00, 0x02, 0x61, 0x00]),  # U+0000 in a topic
    ],
)
def test_known_violations_are_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedPacket):
        decode_all(raw, level=MQTT_311)


_CONNECT_5 = encode(Connect(MQTT_5, "c"), MQTT_5)
_CONNECT_4 = encode(Connect(MQTT_311, "c"), MQTT_311)


@pytest.mark.parametrize("prefix", [b"", _CONNECT_4, _CONNECT_5], ids=["no-connect", "after-3.1.1", "after-5"])
@settings(max_examples=3000)
@given(data=st.binary(max_size=300))
def test_any_bytes_decode_to_packets_or_one_declared_error(prefix: bytes, data: bytes) -> None:
    decoder = StreamDecoder(max_packet_size=4096)
    decoder.feed(prefix + data)
    try:
        while decoder.next_packet() is not None:
            pass
    except MalformedPacket:
        pass


@settings(max_examples=1000)
@given(packet=_packets(MQTT_5), position=st.integers(0, 10_000), byte=BYTE)
def test_a_corrupted_packet_decodes_or_raises_the_declared_error(packet: Packet, position: int, byte: int) -> None:
    raw = bytearray(encode(packet, MQTT_5))
    raw[position % len(raw)] = byte
    with contextlib.suppress(MalformedPacket):
        decode_all(bytes(raw))
