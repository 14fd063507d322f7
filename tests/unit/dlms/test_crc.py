from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from goflex.dlms.crc import crc16_x25, fcs_bytes

from .vectors import NAMES, load


def test_check_value_of_crc16_x25() -> None:
    # The catalogue check value of CRC-16/X.25 (CRC-16/IBM-SDLC) for "123456789".
    assert crc16_x25(b"123456789") == 0x906E


def test_every_captured_frame_carries_its_fcs_little_endian() -> None:
    for name in NAMES:
        for frame in load(name).frames:
            assert frame[-3:-1] == fcs_bytes(frame[1:-3])


@given(st.binary(max_size=64), st.integers(0, 63 * 8 - 1))
def test_a_single_bit_flip_changes_the_crc(data: bytes, bit: int) -> None:
    if not data:
        return
    flipped = bytearray(data)
    flipped[(bit // 8) % len(data)] ^= 1 << (bit % 8)
    assert crc16_x25(bytes(flipped)) != crc16_x25(data)
