"""MQTT 5 properties (OASIS MQTT 5.0 section 2.2.2) as plain, ordered data (pure).

A packet's properties are a tuple of ``(PropertyId, value)`` pairs in wire order, so decoding and re-encoding
is exact and the broker can pass a PUBLISH's properties through untouched (user properties such as
``goflex-seq``, content type, payload format, message expiry). Values are ``int`` (byte, two-, four-byte and
variable integers), ``str`` (UTF-8 strings), ``bytes`` (binary data) or ``(str, str)`` (user property pairs).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum, IntEnum
from typing import Final

from goflex.broker.embedded.errors import REASON_PROTOCOL_ERROR, MalformedPacket
from goflex.broker.embedded.wire import (
    MAX_U16,
    MAX_U32,
    MAX_VARINT,
    Reader,
    encode_binary,
    encode_utf8,
    encode_varint,
)

PropertyValue = int | str | bytes | tuple[str, str]
Properties = tuple[tuple["PropertyId", PropertyValue], ...]
NO_PROPERTIES: Final[Properties] = ()


class PropertyId(IntEnum):
    """Property identifiers (MQTT 5.0 table 2-4)."""

    PAYLOAD_FORMAT_INDICATOR = 0x01
    MESSAGE_EXPIRY_INTERVAL = 0x02
    CONTENT_TYPE = 0x03
    RESPONSE_TOPIC = 0x08
    CORRELATION_DATA = 0x09
    SUBSCRIPTION_IDENTIFIER = 0x0B
    SESSION_EXPIRY_INTERVAL = 0x11
    ASSIGNED_CLIENT_IDENTIFIER = 0x12
    SERVER_KEEP_ALIVE = 0x13
    AUTHENTICATION_METHOD = 0x15
    AUTHENTICATION_DATA = 0x16
    REQUEST_PROBLEM_INFORMATION = 0x17
    WILL_DELAY_INTERVAL = 0x18
    REQUEST_RESPONSE_INFORMATION = 0x19
    RESPONSE_INFORMATION = 0x1A
    SERVER_REFERENCE = 0x1C
    REASON_STRING = 0x1F
    RECEIVE_MAXIMUM = 0x21
    TOPIC_ALIAS_MAXIMUM = 0x22
    TOPIC_ALIAS = 0x23
    MAXIMUM_QOS = 0x24
    RETAIN_AVAILABLE = 0x25
    USER_PROPERTY = 0x26
    MAXIMUM_PACKET_SIZE = 0x27
    WILDCARD_SUBSCRIPTION_AVAILABLE = 0x28
    SUBSCRIPTION_IDENTIFIER_AVAILABLE = 0x29
    SHARED_SUBSCRIPTION_AVAILABLE = 0x2A


class PropertyType(Enum):
    """Data representation of a property's value."""

    BYTE = "byte"
    U16 = "u16"
    U32 = "u32"
    VARINT = "varint"
    UTF8 = "utf8"
    BINARY = "binary"
    PAIR = "pair"


_P = PropertyId
_T = PropertyType
TYPES: Final[dict[PropertyId, PropertyType]] = {
    _P.PAYLOAD_FORMAT_INDICATOR: _T.BYTE,
    _P.MESSAGE_EXPIRY_INTERVAL: _T.U32,
    _P.CONTENT_TYPE: _T.UTF8,
    _P.RESPONSE_TOPIC: _T.UTF8,
    _P.CORRELATION_DATA: _T.BINARY,
    _P.SUBSCRIPTION_IDENTIFIER: _T.VARINT,
    _P.SESSION_EXPIRY_INTERVAL: _T.U32,
    _P.ASSIGNED_CLIENT_IDENTIFIER: _T.UTF8,
    _P.SERVER_KEEP_ALIVE: _T.U16,
    _P.AUTHENTICATION_METHOD: _T.UTF8,
    _P.AUTHENTICATION_DATA: _T.BINARY,
    _P.REQUEST_PROBLEM_INFORMATION: _T.BYTE,
    _P.WILL_DELAY_INTERVAL: _T.U32,
    _P.REQUEST_RESPONSE_INFORMATION: _T.BYTE,
    _P.RESPONSE_INFORMATION: _T.UTF8,
    _P.SERVER_REFERENCE: _T.UTF8,
    _P.REASON_STRING: _T.UTF8,
    _P.RECEIVE_MAXIMUM: _T.U16,
    _P.TOPIC_ALIAS_MAXIMUM: _T.U16,
    _P.TOPIC_ALIAS: _T.U16,
    _P.MAXIMUM_QOS: _T.BYTE,
    _P.RETAIN_AVAILABLE: _T.BYTE,
    _P.USER_PROPERTY: _T.PAIR,
    _P.MAXIMUM_PACKET_SIZE: _T.U32,
    _P.WILDCARD_SUBSCRIPTION_AVAILABLE: _T.BYTE,
    _P.SUBSCRIPTION_IDENTIFIER_AVAILABLE: _T.BYTE,
    _P.SHARED_SUBSCRIPTION_AVAILABLE: _T.BYTE,
}
_BY_VALUE: Final[dict[int, PropertyId]] = {int(p): p for p in PropertyId}
# MQTT 5.0 section 2.2.2.2: only these may appear more than once in one packet.
REPEATABLE: Final = frozenset({PropertyId.USER_PROPERTY, PropertyId.SUBSCRIPTION_IDENTIFIER})


def _encode_value(kind: PropertyType, value: PropertyValue) -> bytes:
    if kind is PropertyType.PAIR:
        if not isinstance(value, tuple):
            raise TypeError("a user property is a (name, value) pair")
        return encode_utf8(value[0]) + encode_utf8(value[1])
    if kind is PropertyType.UTF8:
        if not isinstance(value, str):
            raise TypeError("string property expected")
        return encode_utf8(value)
    if kind is PropertyType.BINARY:
        if not isinstance(value, bytes):
            raise TypeError("binary property expected")
        return encode_binary(value)
    if not isinstance(value, int):
        raise TypeError("integer property expected")
    if kind is PropertyType.VARINT:
        return encode_varint(value)
    size = {PropertyType.BYTE: 1, PropertyType.U16: 2, PropertyType.U32: 4}[kind]
    return value.to_bytes(size, "big")


def encode_properties(props: Properties) -> bytes:
    """Property length followed by the properties, in the given order."""
    if not props:
        return b"\x00"
    body = b"".join(bytes((pid,)) + _encode_value(TYPES[pid], value) for pid, value in props)
    return encode_varint(len(body)) + body


_READERS: Final[dict[PropertyType, Callable[[Reader], PropertyValue]]] = {
    PropertyType.BYTE: Reader.u8,
    PropertyType.U16: Reader.u16,
    PropertyType.U32: Reader.u32,
    PropertyType.VARINT: Reader.varint,
    PropertyType.UTF8: Reader.utf8,
    PropertyType.BINARY: Reader.binary,
    PropertyType.PAIR: lambda r: (r.utf8(), r.utf8()),
}


def decode_properties(reader: Reader) -> Properties:
    """Read a property length and the properties it covers.

    Raises:
        MalformedPacket: unknown identifier, a value running past the property length, a non-repeatable
            property given twice (protocol error), or a subscription identifier of 0.
    """
    length = reader.varint()
    if length == 0:
        return NO_PROPERTIES
    if length > reader.remaining:
        raise MalformedPacket("property length runs past the end of the packet")
    end = reader.pos + length
    sub = Reader(reader.data, reader.pos, end)
    out: list[tuple[PropertyId, PropertyValue]] = []
    seen: set[PropertyId] = set()
    while sub.remaining:
        pid = _BY_VALUE.get(sub.varint())
        if pid is None:
            raise MalformedPacket("unknown property identifier")
        if pid in seen and pid not in REPEATABLE:
            raise MalformedPacket(f"property {pid.name} given twice", reason_code=REASON_PROTOCOL_ERROR)
        seen.add(pid)
        value = _READERS[TYPES[pid]](sub)
        if pid is PropertyId.SUBSCRIPTION_IDENTIFIER and value == 0:
            raise MalformedPacket("subscription identifier 0", reason_code=REASON_PROTOCOL_ERROR)
        out.append((pid, value))
    reader.pos = end
    return tuple(out)


def get_int(props: Properties, pid: PropertyId) -> int | None:
    """The first integer value of ``pid``, or None."""
    for key, value in props:
        if key is pid and isinstance(value, int):
            return value
    return None


def user_properties(props: Properties) -> tuple[tuple[str, str], ...]:
    """All user property pairs, in order."""
    return tuple(v for k, v in props if k is PropertyId.USER_PROPERTY and isinstance(v, tuple))


def value_limits(kind: PropertyType) -> tuple[int, int]:
    """Inclusive range of an integer property type (for validation and test generators)."""
    return {
        PropertyType.BYTE: (0, 0xFF),
        PropertyType.U16: (0, MAX_U16),
        PropertyType.U32: (0, MAX_U32),
        PropertyType.VARINT: (1, MAX_VARINT),
    }[kind]
