"""General Block Transfer (IEC 62056-5-3 9.3.5, APDU tag ``E0``): one APDU carried in numbered blocks.

``E0 | block-control | block-number(2) | block-number-ack(2) | length | block-data``. Block-control bit 0x80
marks the last block, 0x40 streaming, bits 0-5 the window. A meter pushing over the CII streams the blocks of
one DataNotification back to back; nothing is acknowledged, so a missing block loses the whole push.
"""

from __future__ import annotations

from dataclasses import dataclass

from goflex.dlms.axdr import read_length, write_length
from goflex.dlms.errors import BrokenBlockSequence, MalformedApdu, PushTooLong, RejectedPush

GBT_TAG = 0xE0
LAST_BLOCK = 0x80
STREAMING = 0x40


@dataclass(frozen=True)
class Block:
    """One General Block Transfer APDU. ``number`` and ``ack`` are 0..65535."""

    number: int
    data: bytes
    last: bool
    streaming: bool = True
    window: int = 0
    ack: int = 0


def parse_block(apdu: bytes) -> Block:
    """Parse a GBT APDU; its length must cover exactly the remaining bytes.

    Raises:
        MalformedApdu: not a GBT APDU, truncated, or length mismatch.
    """
    if len(apdu) < 7 or apdu[0] != GBT_TAG:
        raise MalformedApdu("not a general-block-transfer APDU")
    length, start = read_length(apdu, 6)
    if start + length != len(apdu):
        raise MalformedApdu(f"block announces {length} bytes, carries {len(apdu) - start}")
    control = apdu[1]
    return Block(
        number=int.from_bytes(apdu[2:4], "big"),
        ack=int.from_bytes(apdu[4:6], "big"),
        data=apdu[start:],
        last=bool(control & LAST_BLOCK),
        streaming=bool(control & STREAMING),
        window=control & 0x3F,
    )


def encode_block(block: Block) -> bytes:
    """The GBT APDU of ``block``."""
    control = (LAST_BLOCK if block.last else 0) | (STREAMING if block.streaming else 0) | (block.window & 0x3F)
    return (
        bytes((GBT_TAG, control))
        + block.number.to_bytes(2, "big")
        + block.ack.to_bytes(2, "big")
        + write_length(len(block.data))
        + block.data
    )


def split_blocks(apdu: bytes, block_size: int) -> list[Block]:
    """Cut ``apdu`` into blocks of at most ``block_size`` data bytes, numbered from 1, streaming.

    Raises:
        ValueError: ``block_size`` < 1, or more than 65535 blocks would be needed.
    """
    if block_size < 1:
        raise ValueError("block_size must be at least 1 byte")
    pieces = [apdu[i : i + block_size] for i in range(0, len(apdu), block_size)] or [b""]
    if len(pieces) > 0xFFFF:
        raise ValueError("APDU needs more than 65535 blocks")
    return [Block(number=i + 1, data=p, last=i == len(pieces) - 1) for i, p in enumerate(pieces)]


@dataclass(frozen=True)
class BlockOutcome:
    """What one block did: an APDU completed, a push dropped, both, or neither."""

    apdu: bytes | None = None
    rejected: RejectedPush | None = None


class BlockAssembler:
    """Strict reassembly: block 1 starts a push (dropping an unfinished one), every other block must be the
    previous + 1. After a break, blocks are ignored until the last block or a new block 1, so one broken push
    is counted once."""

    def __init__(self, *, max_bytes: int) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._next: int | None = None
        self._discarding = False
        self._max = max_bytes

    @property
    def pending(self) -> bool:
        """A push has started and not received its last block."""
        return self._next is not None

    def _reset(self) -> None:
        self._parts.clear()
        self._size = 0
        self._next = None

    def add(self, block: Block) -> BlockOutcome:
        """Take one block in stream order."""
        rejected: RejectedPush | None = None
        if block.number == 1:
            if self.pending:
                rejected = BrokenBlockSequence(f"new push while block {self._next} was awaited")
            self._reset()
            self._discarding = False
            self._next = 1
        elif self._next != block.number:
            counted = not self._discarding  # a push already dropped is not counted twice
            self._reset()
            self._discarding = not block.last
            return BlockOutcome(
                rejected=BrokenBlockSequence(f"block {block.number} out of sequence") if counted else None
            )
        self._size += len(block.data)
        if self._size > self._max:
            self._reset()
            self._discarding = not block.last
            return BlockOutcome(rejected=PushTooLong(f"blocks exceed {self._max} bytes"))
        self._parts.append(block.data)
        self._next = block.number + 1
        if not block.last:
            return BlockOutcome(rejected=rejected)
        apdu = b"".join(self._parts)
        self._reset()
        return BlockOutcome(apdu=apdu, rejected=rejected)

    def abort(self, error: RejectedPush) -> RejectedPush | None:
        """A frame of the current push was lost (e.g. bad FCS): drop the push; return the error to count, or
        None when this push was already counted."""
        counted = self.pending or not self._discarding
        self._reset()
        self._discarding = True
        return error if counted else None

    def interrupt(self) -> RejectedPush | None:
        """A complete APDU arrived outside block transfer: drop any unfinished push (returned for counting)."""
        rejected = BrokenBlockSequence("push interrupted by another APDU") if self.pending else None
        self._reset()
        self._discarding = False
        return rejected

    def finish(self) -> RejectedPush | None:
        """End of stream: an unfinished push is lost (returned for counting)."""
        rejected = BrokenBlockSequence("stream ended before the last block") if self.pending else None
        self._reset()
        return rejected
