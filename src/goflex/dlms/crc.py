"""CRC-16/X.25, the HDLC header and frame check sequence (IEC 62056-46 annex, ISO/IEC 13239).

Reflected polynomial 0x8408, initial value 0xFFFF, final XOR 0xFFFF; transmitted least significant byte first.
"""

from __future__ import annotations


def _table() -> tuple[int, ...]:
    entries = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        entries.append(crc)
    return tuple(entries)


_TABLE = _table()


def crc16_x25(data: bytes) -> int:
    """CRC-16/X.25 of ``data`` (check value of b"123456789" is 0x906E).

    Args:
        data: the bytes covered by the check sequence.

    Returns:
        The 16-bit check value, 0..65535.
    """
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF


def fcs_bytes(data: bytes) -> bytes:
    """The two check-sequence bytes of ``data`` as sent on the line (little-endian)."""
    return crc16_x25(data).to_bytes(2, "little")
