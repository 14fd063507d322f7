from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from goflex.dlms import E360_STYLE, Push, PushDecoder, encode_push
from goflex.dlms.hdlc import FrameCorrupt, FrameReader, HdlcFrame, encode_frame, header_verdict, parse_frame

from .vectors import load


def test_captured_frame_fields() -> None:
    frame = parse_frame(load("e450-no-clock").frames[1][1:-1])
    assert (frame.dest, frame.src, frame.control, frame.segmented) == (b"\xce\xff", b"\x03", 0x13, False)
    assert frame.info[:1] == b"\xe0"


def test_encode_parse_round_trip_with_segmentation_bit() -> None:
    raw = encode_frame(b"\x7e\x7e payload", dest=b"\xcf", src=b"\x03", segmented=True)
    assert raw[1] == 0xA8
    assert parse_frame(raw[1:-1]) == HdlcFrame(b"\xcf", b"\x03", 0x13, b"\x7e\x7e payload", True)


def test_address_without_end_bit_is_refused() -> None:
    with pytest.raises(ValueError, match="bit 0"):
        encode_frame(b"x", dest=b"\xce", src=b"\x03")


def test_reader_resyncs_after_garbage_and_shares_flags() -> None:
    frames = load("e450-vse-2026").frames
    # garbage (including stray flags and a fake format byte), then frames whose flags are shared
    stream = b"\x00\x7e\xa0\x10junk\x7e\x7e" + frames[0] + frames[1][1:] + b"\x55" + frames[2] + frames[3]
    reader = FrameReader()
    events = reader.feed(stream)
    assert [e.info for e in events if isinstance(e, HdlcFrame)] == [parse_frame(f[1:-1]).info for f in frames]
    assert reader.discarded["garbage"] > 0


def test_bad_fcs_is_a_corrupt_frame_event() -> None:
    frame = bytearray(load("e450-no-clock").frames[0])
    frame[40] ^= 0x01
    reader = FrameReader()
    [event] = reader.feed(bytes(frame))
    assert isinstance(event, FrameCorrupt)
    assert reader.discarded["bad_fcs"] == len(frame) - 1


def test_long_push_in_hdlc_segments_a8() -> None:
    push = Push("LGZ1", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), {"1-0:1.7.0": 5, "1-1:1.8.0": 123456})
    style = replace(E360_STYLE, max_info=16)
    frames = encode_push(push, model="e360", frame=style)
    assert len(frames) > 3
    assert all(f[1] & 0xF8 == 0xA8 for f in frames[:-1])
    assert frames[-1][1] & 0x08 == 0
    assert PushDecoder(model="e360").feed(b"".join(frames)) == [push]


def test_a_header_is_judged_as_soon_as_it_is_in() -> None:
    frame = encode_frame(b"\x0f" * 40, dest=b"\x03", src=b"\x00\x21")
    raw = frame[1:-1]
    length = len(raw)
    header_end = 2 + 1 + 2 + 1 + 2  # format, addresses of 1 and 2 bytes, control, HCS
    assert header_verdict(raw[:header_end], length) is True
    assert header_verdict(raw[: header_end - 1], length) is None  # the HCS has not arrived
    assert header_verdict(raw[:3], length) is None
    broken = raw[: header_end - 1] + bytes([raw[header_end - 1] ^ 0x01])
    assert header_verdict(broken, length) is False
    assert header_verdict(raw[:header_end], header_end - 1) is False  # a header longer than its frame
    assert header_verdict(b"\xa0\x20\x02\x02\x02\x02\x02", length) is False  # no address end bit in 4 bytes


def test_a_stray_frame_start_does_not_swallow_the_frame_after_it() -> None:
    frame = encode_frame(b"\x0f" * 40, dest=b"\x03", src=b"\x00\x21")
    reader = FrameReader()
    events = reader.feed(b"\x7e\xa1" + frame)  # the stray start claims a 382-byte frame
    assert events == [parse_frame(frame[1:-1])]
    assert reader.discarded["garbage"] == 2  # the stray flag and format byte
