"""HDLC frames as meters push them (IEC 62056-46, frame format type 3), and a stream reader that resyncs.

::

    7E | format+length(2) | dest addr(1-4) | src addr(1-4) | control | HCS(2) | information | FCS(2) | 7E

The format field is type 0xA (high nibble), the segmentation bit 0x08 and an 11-bit length counting the bytes
between the flags. Addresses end with a byte whose bit 0 is set. HCS covers format..control, FCS covers
format..information; both are CRC-16/X.25, little-endian. There is no byte stuffing in this profile, so a
frame's end is found from its length, not by searching for the next flag: information bytes may be 0x7E.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from goflex.dlms.crc import fcs_bytes
from goflex.dlms.errors import CorruptFrame, PushTooLong

FLAG = 0x7E
FORMAT_TYPE_3 = 0xA
SEGMENTED = 0x08
UI_FINAL = 0x13  # unnumbered information with the poll/final bit, what meters push with
MAX_FRAME_LENGTH = 0x7FF  # 11-bit length field
MAX_ADDRESS_BYTES = 4
_MIN_LENGTH = 2 + 1 + 1 + 1 + 2  # format, one-byte addresses, control, HCS
_MAX_HEADER = 2 + 2 * MAX_ADDRESS_BYTES + 1 + 2  # format, two longest addresses, control, HCS
_CHUNK = 4096  # input is scanned in slices so the buffer stays near one frame plus one slice


@dataclass(frozen=True)
class HdlcFrame:
    """One checked frame: addresses as sent (with their extension bits), control byte and information field."""

    dest: bytes
    src: bytes
    control: int
    info: bytes
    segmented: bool = False


@dataclass(frozen=True)
class FrameCorrupt:
    """A frame whose header checked out but whose FCS did not: its push cannot be trusted."""

    error: CorruptFrame


def _address(raw: bytes, pos: int, end: int) -> int:
    """Position after the address starting at ``pos``; raise CorruptFrame when it does not end in time."""
    for offset in range(MAX_ADDRESS_BYTES):
        if pos + offset >= end:
            break
        if raw[pos + offset] & 0x01:
            return pos + offset + 1
    raise CorruptFrame("address without end bit")


def parse_header(raw: bytes) -> tuple[bool, bytes, bytes, int, int]:
    """Check the header of ``raw`` (bytes between the flags).

    Returns:
        (segmented, dest, src, control, position after the HCS).

    Raises:
        CorruptFrame: wrong format type or length, unterminated address, or HCS mismatch.
    """
    if len(raw) < _MIN_LENGTH or raw[0] >> 4 != FORMAT_TYPE_3:
        raise CorruptFrame("not a type-3 frame")
    if ((raw[0] & 0x07) << 8 | raw[1]) != len(raw):
        raise CorruptFrame("length field does not match")
    dest_end = _address(raw, 2, len(raw))
    src_end = _address(raw, dest_end, len(raw))
    control_end = src_end + 1
    if control_end + 2 > len(raw):
        raise CorruptFrame("header truncated")
    if raw[control_end : control_end + 2] != fcs_bytes(raw[:control_end]):
        raise CorruptFrame("header check sequence mismatch")
    return bool(raw[0] & SEGMENTED), raw[2:dest_end], raw[dest_end:src_end], raw[src_end], control_end + 2


def header_verdict(head: bytes, length: int) -> bool | None:
    """Whether the first bytes of a candidate frame (after its opening flag) form a valid header.

    ``head`` holds up to :data:`_MAX_HEADER` bytes, fewer while they have not arrived; ``length`` is the candidate's
    length field. Returns None while more bytes are needed. Judging the header as soon as it is in, rather than
    once the whole claimed length is, matters for resynchronisation: a stray ``7E A1`` before a real frame claims
    ~380 bytes, and waiting for them would swallow the real frame that follows (found by Hypothesis).
    """
    pos = 2
    for _ in range(2):  # destination, then source address
        for offset in range(MAX_ADDRESS_BYTES):
            at = pos + offset
            if at >= length:
                return False  # the address runs past the frame
            if at >= len(head):
                return None
            if head[at] & 0x01:
                pos = at + 1
                break
        else:
            return False  # no end bit within four bytes
    control_end = pos + 1
    if control_end + 2 > length:
        return False
    if control_end + 2 > len(head):
        return None
    return head[control_end : control_end + 2] == fcs_bytes(head[:control_end])


def parse_frame(raw: bytes) -> HdlcFrame:
    """Check and split one frame given without its flags.

    Raises:
        CorruptFrame: header or frame check sequence wrong.
    """
    segmented, dest, src, control, info_start = parse_header(raw)
    if info_start == len(raw):  # a frame without information: the HCS is its only check sequence
        return HdlcFrame(dest, src, control, b"", segmented)
    if len(raw) < info_start + 2 or raw[-2:] != fcs_bytes(raw[:-2]):
        raise CorruptFrame("frame check sequence mismatch")
    return HdlcFrame(dest, src, control, raw[info_start:-2], segmented)


def encode_frame(info: bytes, *, dest: bytes, src: bytes, control: int = UI_FINAL, segmented: bool = False) -> bytes:
    """One complete frame, both flags included.

    Raises:
        ValueError: the frame would exceed the 11-bit length, or an address lacks its end bit.
    """
    for address in (dest, src):
        if not address or address[-1] & 1 == 0 or any(b & 1 for b in address[:-1]):
            raise ValueError(f"HDLC address {address.hex()} must end (only) with a byte whose bit 0 is set")
    header_length = 2 + len(dest) + len(src) + 1
    length = header_length + 2 + (len(info) + 2 if info else 0)
    if length > MAX_FRAME_LENGTH:
        raise ValueError(f"frame of {length} bytes exceeds {MAX_FRAME_LENGTH}")
    fmt = (FORMAT_TYPE_3 << 12) | (SEGMENTED << 8 if segmented else 0) | length
    header = fmt.to_bytes(2, "big") + dest + src + bytes((control,))
    body = header + fcs_bytes(header)
    if info:
        body += info
        body += fcs_bytes(body)
    return bytes((FLAG,)) + body + bytes((FLAG,))


class FrameReader:
    """Cut a byte stream into frames; hunt for the next flag after garbage or a broken header.

    Bytes that cannot belong to a frame are dropped and counted in :attr:`discarded` by reason
    (``"garbage"``: outside any frame or a candidate whose header failed; ``"bad_fcs"``: a whole frame whose
    frame check sequence failed). The buffer never holds more than one maximum frame plus one input slice.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.discarded: Counter[str] = Counter()

    @property
    def buffered(self) -> int:
        """Bytes waiting for the rest of their frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[HdlcFrame | FrameCorrupt]:
        """Add bytes; return the frames (and corrupt-frame events) completed by them, in stream order."""
        events: list[HdlcFrame | FrameCorrupt] = []
        for start in range(0, len(data), _CHUNK):
            self._buf += data[start : start + _CHUNK]
            self._scan(events)
        return events

    def flush(self) -> list[HdlcFrame | FrameCorrupt]:
        """The stream has ended: a candidate still waiting for bytes was not a frame; scan on past it."""
        events: list[HdlcFrame | FrameCorrupt] = []
        self._scan(events, final=True)
        self._drop_tail()
        return events

    def _drop_tail(self) -> None:
        # the closing flag of the last frame stays buffered (it might open another): it is not garbage
        garbage = sum(1 for b in self._buf if b != FLAG)
        if garbage:
            self.discarded["garbage"] += garbage
        self._buf.clear()

    def _drop(self, count: int, reason: str) -> None:
        del self._buf[:count]
        self.discarded[reason] += count

    def _scan(self, events: list[HdlcFrame | FrameCorrupt], *, final: bool = False) -> None:
        buf = self._buf
        while buf:
            flag = buf.find(FLAG)
            if flag < 0:
                self._drop(len(buf), "garbage")
                return
            if flag:
                self._drop(flag, "garbage")
            if len(buf) < 3:
                if final:
                    self._drop_tail()
                return
            if buf[1] == FLAG:  # idle flag, or the closing flag of the previous frame followed by an opening one
                del buf[:1]
                continue
            length = (buf[1] & 0x07) << 8 | buf[2]
            if (
                buf[1] >> 4 != FORMAT_TYPE_3
                or length < _MIN_LENGTH
                or header_verdict(bytes(buf[1 : 1 + _MAX_HEADER]), length) is False
            ):
                self._drop(1, "garbage")
                continue
            if len(buf) < length + 2:
                if not final:
                    return  # wait for the rest
                self._drop(1, "garbage")
                continue
            if buf[length + 1] != FLAG:
                self._drop(1, "garbage")
                continue
            raw = bytes(buf[1 : length + 1])
            try:
                parse_header(raw)
            except CorruptFrame:
                self._drop(1, "garbage")
                continue
            try:
                events.append(parse_frame(raw))
                del buf[: length + 1]  # keep the closing flag: it may open the next frame
            except CorruptFrame as exc:
                events.append(FrameCorrupt(exc))
                self._drop(length + 1, "bad_fcs")


class SegmentAssembler:
    """Join the information fields of frames sent with the segmentation bit (``A8``) until one without it."""

    def __init__(self, *, max_bytes: int) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._max = max_bytes

    @property
    def pending(self) -> bool:
        """A segmented message has started and not ended."""
        return bool(self._parts)

    def reset(self) -> None:
        """Forget a partial message."""
        self._parts.clear()
        self._size = 0

    def add(self, frame: HdlcFrame) -> bytes | None:
        """The complete information field once the last segment arrives, else None.

        Raises:
            PushTooLong: the joined message would exceed ``max_bytes`` (the partial message is dropped).
        """
        self._size += len(frame.info)
        if self._size > self._max:
            self.reset()
            raise PushTooLong(f"HDLC segments exceed {self._max} bytes")
        self._parts.append(frame.info)
        if frame.segmented:
            return None
        message = b"".join(self._parts)
        self.reset()
        return message
