"""A-XDR encoding of COSEM ``Data`` (IEC 62056-6-2 4.1.5, IEC 61334-6): a tag byte, then the value.

Lengths and element counts use the BER-like form: one byte below 0x80, else ``0x8n`` and n big-endian bytes.
Values decode to :class:`Data` nodes that keep their tag so the encoder can reproduce the meter's choice of type.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from goflex.dlms.errors import MalformedApdu

MAX_DEPTH = 8  # push bodies nest 3 levels (structure > array > structure); deeper input is hostile or broken


class Tag(IntEnum):
    """A-XDR data type tags."""

    NULL = 0x00
    ARRAY = 0x01
    STRUCTURE = 0x02
    BOOLEAN = 0x03
    BIT_STRING = 0x04
    INT32 = 0x05
    UINT32 = 0x06
    OCTET_STRING = 0x09
    VISIBLE_STRING = 0x0A
    UTF8_STRING = 0x0C
    INT8 = 0x0F
    INT16 = 0x10
    UINT8 = 0x11
    UINT16 = 0x12
    INT64 = 0x14
    UINT64 = 0x15
    ENUM = 0x16
    FLOAT32 = 0x17
    FLOAT64 = 0x18
    DATE_TIME = 0x19


# fixed-size integers: tag -> (size [bytes], signed)
_INTEGERS: dict[Tag, tuple[int, bool]] = {
    Tag.INT8: (1, True),
    Tag.UINT8: (1, False),
    Tag.ENUM: (1, False),
    Tag.INT16: (2, True),
    Tag.UINT16: (2, False),
    Tag.INT32: (4, True),
    Tag.UINT32: (4, False),
    Tag.INT64: (8, True),
    Tag.UINT64: (8, False),
}
_FLOATS = {Tag.FLOAT32: ">f", Tag.FLOAT64: ">d"}
_STRINGS = {Tag.OCTET_STRING, Tag.VISIBLE_STRING, Tag.UTF8_STRING}

Value = None | bool | int | float | bytes | str | tuple["Data", ...]


@dataclass(frozen=True)
class Data:
    """One A-XDR value: ``tag`` and the Python value.

    Python types per tag: NULL None; BOOLEAN bool; integers and ENUM int; FLOAT32/64 float; OCTET_STRING,
    DATE_TIME (12 raw bytes) and BIT_STRING (packed bits, ``bits`` long) bytes; VISIBLE/UTF8 str;
    ARRAY/STRUCTURE a tuple of Data.
    """

    tag: Tag
    value: Value = None
    bits: int = 0  # BIT_STRING only: number of bits


def read_length(buf: bytes, pos: int) -> tuple[int, int]:
    """Read an A-XDR length at ``pos``; return (length, position after it).

    Raises:
        MalformedApdu: truncated, or a long form wider than 4 bytes.
    """
    if pos >= len(buf):
        raise MalformedApdu("length missing")
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    width = first & 0x7F
    if not 1 <= width <= 4 or pos + 1 + width > len(buf):
        raise MalformedApdu(f"bad length form 0x{first:02X}")
    return int.from_bytes(buf[pos + 1 : pos + 1 + width], "big"), pos + 1 + width


def write_length(length: int) -> bytes:
    """The A-XDR length form of ``length`` (0..2**32-1)."""
    if length < 0x80:
        return bytes((length,))
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def _take(buf: bytes, pos: int, size: int) -> bytes:
    if size < 0 or pos + size > len(buf):
        raise MalformedApdu(f"value needs {size} bytes at {pos}, {len(buf) - pos} left")
    return buf[pos : pos + size]


def decode_data(buf: bytes, pos: int = 0, *, depth: int = 0) -> tuple[Data, int]:  # noqa: PLR0911 - one return per tag family
    """Decode one A-XDR value at ``pos``; return it and the position after it.

    Raises:
        MalformedApdu: unknown tag, truncated value, or nesting deeper than :data:`MAX_DEPTH`.
    """
    if depth > MAX_DEPTH:
        raise MalformedApdu("data nested too deep")
    raw_tag = _take(buf, pos, 1)[0]
    try:
        tag = Tag(raw_tag)
    except ValueError:
        raise MalformedApdu(f"unknown A-XDR tag 0x{raw_tag:02X} at {pos}") from None
    pos += 1
    if tag in _INTEGERS:
        size, signed = _INTEGERS[tag]
        return Data(tag, int.from_bytes(_take(buf, pos, size), "big", signed=signed)), pos + size
    if tag in _FLOATS:
        fmt = _FLOATS[tag]
        size = struct.calcsize(fmt)
        return Data(tag, float(struct.unpack(fmt, _take(buf, pos, size))[0])), pos + size
    if tag is Tag.NULL:
        return Data(tag), pos
    if tag is Tag.BOOLEAN:
        return Data(tag, _take(buf, pos, 1)[0] != 0), pos + 1
    if tag is Tag.DATE_TIME:
        return Data(tag, _take(buf, pos, 12)), pos + 12
    if tag in _STRINGS:
        length, pos = read_length(buf, pos)
        raw = _take(buf, pos, length)
        return Data(tag, _text(tag, raw)), pos + length
    if tag is Tag.BIT_STRING:
        bits, pos = read_length(buf, pos)
        size = (bits + 7) // 8
        return Data(tag, _take(buf, pos, size), bits), pos + size
    count, pos = read_length(buf, pos)
    if count > len(buf) - pos:  # every element takes at least one byte: refuse before looping
        raise MalformedApdu(f"{count} elements announced, {len(buf) - pos} bytes left")
    items = []
    for _ in range(count):
        item, pos = decode_data(buf, pos, depth=depth + 1)
        items.append(item)
    return Data(tag, tuple(items)), pos


def _text(tag: Tag, raw: bytes) -> bytes | str:
    if tag is Tag.OCTET_STRING:
        return raw
    try:
        return raw.decode("ascii" if tag is Tag.VISIBLE_STRING else "utf-8")
    except UnicodeDecodeError:
        raise MalformedApdu(f"{tag.name} is not text: {raw.hex()}") from None


def encode_data(data: Data) -> bytes:  # noqa: PLR0911 - one return per tag family
    """Encode one value (the inverse of :func:`decode_data`).

    Raises:
        MalformedApdu: the Python value does not fit the tag (type or range).
    """
    tag, value = data.tag, data.value
    try:
        if tag in _INTEGERS:
            size, signed = _INTEGERS[tag]
            return bytes((tag,)) + _as_int(value).to_bytes(size, "big", signed=signed)
        if tag in _FLOATS:
            return bytes((tag,)) + struct.pack(_FLOATS[tag], _as_float(value))
    except (OverflowError, struct.error) as exc:
        raise MalformedApdu(f"{value!r} does not fit {tag.name}") from exc
    if tag is Tag.NULL:
        return b"\x00"
    if tag is Tag.BOOLEAN:
        return bytes((tag, 1 if value else 0))
    if tag is Tag.DATE_TIME:
        raw = _as_bytes(value)
        if len(raw) != 12:
            raise MalformedApdu("DATE_TIME needs 12 bytes")
        return bytes((tag,)) + raw
    if tag in _STRINGS:
        text = value.encode("ascii" if tag is Tag.VISIBLE_STRING else "utf-8") if isinstance(value, str) else value
        raw = _as_bytes(text)
        return bytes((tag,)) + write_length(len(raw)) + raw
    if tag is Tag.BIT_STRING:
        return bytes((tag,)) + write_length(data.bits) + _as_bytes(value)
    if not isinstance(value, tuple):
        raise MalformedApdu(f"{tag.name} needs a tuple of Data")
    return bytes((tag,)) + write_length(len(value)) + b"".join(encode_data(item) for item in value)


def _as_int(value: Value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedApdu(f"integer expected, got {value!r}")
    return value


def _as_float(value: Value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedApdu(f"number expected, got {value!r}")
    return float(value)


def _as_bytes(value: Value | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise MalformedApdu(f"bytes expected, got {value!r}")
    return value
