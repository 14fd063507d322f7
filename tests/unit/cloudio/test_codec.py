from __future__ import annotations

import cbor2
import pytest

from goflex.cloudio import Format, RejectedPayload, RejectReason, decode, detect_format, encode


def reason_of(data: bytes, **limits: int) -> RejectReason:
    with pytest.raises(RejectedPayload) as caught:
        decode(data, **limits)
    return caught.value.reason


def test_format_is_told_by_the_first_byte() -> None:
    assert detect_format(b' \n\t{"a":1}') is Format.JSON
    assert detect_format(cbor2.dumps({"a": 1})) is Format.CBOR
    for data in (b"", b"[1]", b"\x81\x01", b"\xef\xbb\xbf{}", b"null"):
        with pytest.raises(RejectedPayload):
            detect_format(data)


def test_json_is_compact_and_keeps_floats_as_floats() -> None:
    assert encode({"timestamp": 1.6e9, "value": 5.0, "n": 5}) == b'{"timestamp":1600000000.0,"value":5.0,"n":5}'
    assert encode({"t": "Température"}) == '{"t":"Température"}'.encode()
    doc = decode(encode({"value": 5.0}, Format.CBOR))
    assert isinstance(doc["value"], float)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"value": NaN}', RejectReason.NOT_FINITE),
        (b'{"value": -Infinity}', RejectReason.NOT_FINITE),
        (b'{"value": 1e999}', RejectReason.NOT_FINITE),
        (b'{"value": "\xff"}', RejectReason.NOT_UTF8),
        (b'{"value": "\\ud800"}', RejectReason.NOT_UTF8),
        (b'{"value": 1', RejectReason.MALFORMED),
        (b'{"a": 1, "a": 2}', RejectReason.MALFORMED),
        (b'{"a": 1} trailing', RejectReason.MALFORMED),
        (b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}", RejectReason.TOO_DEEP),
        (b'{"a":' + b"[" * 200_000, RejectReason.TOO_DEEP),
        (cbor2.dumps({"a": b"bytes"}), RejectReason.WRONG_SCHEMA),
        (cbor2.dumps({1: "x"}), RejectReason.WRONG_SCHEMA),
        (b"\xa1\x61a\xc1\x1a\x5f\x5e\x10\x00", RejectReason.WRONG_SCHEMA),  # tag 1 (epoch time)
        (b"\xa1\x61a\xf7", RejectReason.WRONG_SCHEMA),  # undefined
        (b"\xa1\x61a\xfb\x7f\xf8\x00\x00\x00\x00\x00\x00", RejectReason.NOT_FINITE),  # NaN double
        (b"\xa1\x61a\x62\xc3\x28", RejectReason.NOT_UTF8),
        (b"\xa2\x61a\x01\x61a\x02", RejectReason.MALFORMED),  # duplicate key
        (b"\xa1\x61a", RejectReason.MALFORMED),  # truncated
        (b"\xa1\x61a\x01\x00", RejectReason.MALFORMED),  # trailing byte
        (b"\xbb\xff\xff\xff\xff\xff\xff\xff\xff", RejectReason.MALFORMED),  # claims 2**64 entries
        (b"\xa1\x61a" + b"\x81" * 100_000 + b"\x01", RejectReason.TOO_DEEP),
    ],
)
def test_hostile_payloads_are_refused_with_a_reason(data: bytes, reason: RejectReason) -> None:
    assert reason_of(data) is reason


def test_size_and_depth_limits() -> None:
    big = b'{"v":"' + b"x" * (10 * 1024 * 1024) + b'"}'
    assert reason_of(big) is RejectReason.TOO_LARGE
    assert reason_of(b'{"a":{"b":{}}}', max_depth=2) is RejectReason.TOO_DEEP
    assert decode(b'{"a":{"b":{}}}', max_depth=3) == {"a": {"b": {}}}


def test_cbor_indefinite_lengths_are_understood() -> None:
    # {_ "a": [_ 1, 2], "b": (_ "x", "y")}
    data = b"\xbf\x61a\x9f\x01\x02\xff\x61b\x7f\x61x\x61y\xff\xff"
    assert decode(data) == {"a": [1, 2], "b": "xy"}
