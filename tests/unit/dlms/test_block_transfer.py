"""Strict General Block Transfer reassembly, seen through the decoder's counters."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from goflex.dlms import E450_STYLE, Push, PushDecoder, encode_push
from goflex.dlms.block_transfer import Block, BlockAssembler, encode_block, parse_block, split_blocks

from .vectors import load

PUSH = Push("LGZ1030653520967", datetime(2026, 5, 4, 9, 39, 21, tzinfo=UTC), {"1-1:1.8.0": 482939, "1-0:31.7.0": 0.09})


def _frames() -> list[bytes]:
    frames = encode_push(PUSH, frame=replace(E450_STYLE, block_size=40))
    assert len(frames) >= 4
    return frames


def test_block_round_trip_and_split() -> None:
    block = Block(number=7, data=b"x" * 200, last=True, ack=3)
    assert parse_block(encode_block(block)) == block
    blocks = split_blocks(b"a" * 250, 100)
    assert [(b.number, len(b.data), b.last) for b in blocks] == [(1, 100, False), (2, 100, False), (3, 50, True)]


def test_string_split_across_blocks_is_reassembled() -> None:
    # in the capture the device name "LGZ1030653520967" starts in block 3 and ends in block 4
    vector = load("e450-vse-2026")
    assert b"LGZ1" in vector.frames[2]
    assert b"0653520967" in vector.frames[3]
    [push] = PushDecoder().feed(vector.stream)
    assert push.device == "LGZ1030653520967"


def test_missing_block_rejects_the_push_once() -> None:
    frames = _frames()
    decoder = PushDecoder()
    assert decoder.feed(b"".join(frames[:1] + frames[2:])) == []
    assert dict(decoder.stats.rejected_by_reason) == {"block_sequence": 1}
    assert decoder.feed(b"".join(frames)) == [PUSH]  # the next push is decoded again


def test_block_one_restarts_and_drops_the_unfinished_push() -> None:
    frames = _frames()
    decoder = PushDecoder()
    assert decoder.feed(b"".join(frames[:2] + frames)) == [PUSH]
    assert dict(decoder.stats.rejected_by_reason) == {"block_sequence": 1}


def test_blocks_without_block_one_are_counted_once() -> None:
    decoder = PushDecoder()
    assert decoder.feed(b"".join(_frames()[1:])) == []
    assert decoder.stats.rejected == 1


def test_unfinished_push_at_end_of_stream_is_counted_by_finish() -> None:
    decoder = PushDecoder()
    assert decoder.feed(b"".join(_frames()[:-1])) == []
    assert decoder.stats.rejected == 0
    decoder.finish()
    assert dict(decoder.stats.rejected_by_reason) == {"block_sequence": 1}


def test_reassembly_is_capped() -> None:
    assembler = BlockAssembler(max_bytes=100)
    assert assembler.add(Block(1, b"x" * 60, last=False)).rejected is None
    outcome = assembler.add(Block(2, b"x" * 60, last=False))
    assert outcome.rejected is not None
    assert outcome.rejected.reason == "too_long"
    assert not assembler.pending
    # the rest of that push is ignored without a second count
    assert assembler.add(Block(3, b"x", last=True)).rejected is None
