"""MQTT data representations (OASIS MQTT 5.0 section 1.5, 3.1.1 section 1.5): integers, strings, binary (pure).

Readers raise :class:`MalformedPacket` on every violation: truncated data, a variable byte integer longer than
four bytes, a UTF-8 string that is not well-formed or contains U+0000 (MQTT-1.5.4-1, MQTT-1.5.4-2).
"""

from __future__ import annotations

from typing import Final

from goflex.broker.embedded.errors import MalformedPacket

MAX_VARINT: Final = 268_435_455
"""Largest value of a variable byte integer (four bytes of seven bits)."""
MAX_U16: Final = 0xFFFF
MAX_U32: Final = 0xFFFF_FFFF


def encode_varint(value: int) -> bytes:
    """Encode a variable byte integer (MQTT 5.0 section 1.5.5).

    Raises:
        ValueError: ``value`` outside 0..268,435,455.
    """
    if not 0 <= value <= MAX_VARINT:
        raise ValueError(f"variable byte integer out of range: {value}")
    if value < 128:
        return bytes((value,))
    out = bytearray()
    while True:
        digit = value & 0x7F
        value >>= 7
        if value:
            out.append(digit | 0x80)
        else:
            out.append(digit)
            return bytes(out)


def encode_utf8(text: str) -> bytes:
    """Encode a UTF-8 string with its two-byte length prefix.

    Raises:
        ValueError: longer than 65,535 bytes once encoded, or containing U+0000.
    """
    data = text.encode("utf-8")
    if len(data) > MAX_U16 or "\x00" in text:
        raise ValueError("string too long or containing U+0000")
    return len(data).to_bytes(2, "big") + data


def encode_binary(data: bytes) -> bytes:
    """Encode binary data with its two-byte length prefix."""
    if len(data) > MAX_U16:
        raise ValueError("binary data longer than 65,535 bytes")
    return len(data).to_bytes(2, "big") + data


class Reader:
    """Reads MQTT data representations from a packet body, left to right."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    @property
    def remaining(self) -> int:
        """Bytes not yet read."""
        return self.end - self.pos

    def _need(self, count: int) -> int:
        start = self.pos
        if start + count > self.end:
            raise MalformedPacket("packet ends before its declared content")
        self.pos = start + count
        return start

    def u8(self) -> int:
        """One byte."""
        return self.data[self._need(1)]

    def u16(self) -> int:
        """Two-byte big-endian integer."""
        start = self._need(2)
        return (self.data[start] << 8) | self.data[start + 1]

    def u32(self) -> int:
        """Four-byte big-endian integer."""
        start = self._need(4)
        return int.from_bytes(self.data[start : start + 4], "big")

    def varint(self) -> int:
        """Variable byte integer; at most four bytes (MQTT 5.0 section 1.5.5)."""
        value = 0
        shift = 0
        for _ in range(4):
            byte = self.u8()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
        raise MalformedPacket("variable byte integer longer than four bytes")

    def binary(self) -> bytes:
        """Two-byte length followed by that many bytes."""
        length = self.u16()
        start = self._need(length)
        return self.data[start : start + length]

    def utf8(self) -> str:
        """A well-formed UTF-8 string without U+0000."""
        raw = self.binary()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedPacket("string is not well-formed UTF-8") from exc
        if "\x00" in text:
            raise MalformedPacket("string contains U+0000")
        return text

    def rest(self) -> bytes:
        """Everything up to the end of the packet (a PUBLISH payload)."""
        start = self.pos
        self.pos = self.end
        return self.data[start : self.end]

    def expect_end(self) -> None:
        """Raise if bytes are left over after a fixed-structure packet."""
        if self.pos != self.end:
            raise MalformedPacket("unexpected bytes after the end of the packet")
