from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goflex.dlms import MalformedApdu
from goflex.dlms.axdr import Data, Tag, decode_data, encode_data, read_length, write_length

_INTS = {
    Tag.INT8: (-128, 127),
    Tag.UINT8: (0, 255),
    Tag.ENUM: (0, 255),
    Tag.INT16: (-(2**15), 2**15 - 1),
    Tag.UINT16: (0, 2**16 - 1),
    Tag.INT32: (-(2**31), 2**31 - 1),
    Tag.UINT32: (0, 2**32 - 1),
    Tag.INT64: (-(2**63), 2**63 - 1),
    Tag.UINT64: (0, 2**64 - 1),
}
_scalars = st.one_of(
    *(st.integers(lo, hi).map(lambda v, t=tag: Data(t, v)) for tag, (lo, hi) in _INTS.items()),
    st.just(Data(Tag.NULL)),
    st.booleans().map(lambda v: Data(Tag.BOOLEAN, v)),
    st.binary(max_size=300).map(lambda v: Data(Tag.OCTET_STRING, v)),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(lambda v: Data(Tag.VISIBLE_STRING, v)),
    st.floats(allow_nan=False, width=64).map(lambda v: Data(Tag.FLOAT64, v)),
    st.binary(min_size=12, max_size=12).map(lambda v: Data(Tag.DATE_TIME, v)),
)
_data = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5).flatmap(
        lambda items: st.sampled_from([Tag.ARRAY, Tag.STRUCTURE]).map(lambda t: Data(t, tuple(items)))
    ),
    max_leaves=20,
)


@given(_data)
def test_encode_decode_round_trip(data: Data) -> None:
    raw = encode_data(data)
    assert decode_data(raw) == (data, len(raw))


@given(st.integers(0, 2**32 - 1))
def test_length_forms(length: int) -> None:
    raw = write_length(length)
    assert read_length(raw, 0) == (length, len(raw))
    assert (len(raw) == 1) == (length < 0x80)


def test_long_length_form_as_the_meters_send_it() -> None:
    assert write_length(0x103) == bytes.fromhex("820103")
    assert decode_data(bytes.fromhex("09") + bytes.fromhex("8180") + bytes(128))[0].value == bytes(128)


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_malformed_apdu_only(raw: bytes) -> None:
    with contextlib.suppress(MalformedApdu):
        decode_data(raw)


def test_deep_nesting_and_huge_counts_are_refused_without_work() -> None:
    with pytest.raises(MalformedApdu):
        decode_data(b"\x01\x01" * 50 + b"\x00")
    with pytest.raises(MalformedApdu):
        decode_data(bytes.fromhex("0184FFFFFFFF00"))


def test_value_that_does_not_fit_its_tag() -> None:
    with pytest.raises(MalformedApdu):
        encode_data(Data(Tag.UINT16, 70_000))
    with pytest.raises(MalformedApdu):
        encode_data(Data(Tag.UINT16, "12"))
