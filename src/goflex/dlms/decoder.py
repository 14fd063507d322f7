"""The streaming CII push decoder: bytes in, checked pushes out, everything else counted.

Layers, bottom up: HDLC frames (:mod:`.hdlc`, resync on garbage), HDLC segments joined, the LLC header
``E6 E7 00`` removed, General Block Transfer blocks joined (:mod:`.block_transfer`), general-glo-ciphering
removed (:mod:`.security`), the DataNotification parsed (:mod:`.notification`) and interpreted (:mod:`.push`).

Memory is bounded: the frame reader holds at most one frame plus one input slice, the segment and block
reassembly at most ``max_push_bytes`` each; a push that would exceed them is dropped and counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from goflex.dlms.block_transfer import GBT_TAG, BlockAssembler, parse_block
from goflex.dlms.errors import InvalidSetting, RejectedPush
from goflex.dlms.hdlc import FrameCorrupt, FrameReader, HdlcFrame, SegmentAssembler
from goflex.dlms.notification import parse_notification
from goflex.dlms.push import Push, push_from_notification
from goflex.dlms.scaling import ScalingTable, scaling_for
from goflex.dlms.security import GLO_CIPHERING_TAG, Keys, decrypt_apdu

LLC_HEADERS = (b"\xe6\xe7\x00", b"\xe6\xe6\x00")  # IEC 62056-46 8.1: response / command LLC
DEFAULT_MAX_PUSH_BYTES = 64 * 1024


@dataclass(frozen=True)
class DecoderStats:
    """Counters since the decoder was made.

    Attributes:
        frames: frames whose checks passed.
        pushes: pushes decoded.
        rejected: pushes dropped; ``rejected_by_reason`` splits them (``bad_crc``, ``block_sequence``,
            ``auth_failed``, ``malformed_apdu``, ``too_long``).
        discarded_bytes: bytes that were not part of a good frame; ``discarded_by_reason`` splits them
            (``garbage``, ``bad_fcs``).
    """

    frames: int = 0
    pushes: int = 0
    rejected: int = 0
    rejected_by_reason: Mapping[str, int] = field(default_factory=dict)
    discarded_bytes: int = 0
    discarded_by_reason: Mapping[str, int] = field(default_factory=dict)


class PushDecoder:
    """Decode CII pushes from a byte stream delivered in any chunks; :meth:`feed` never raises.

    Args:
        model: meter model for the scaling table (``"e450"``, ``"e360"``); ignored when ``scaling`` is given.
        key: 16-byte global unicast encryption key, for encrypted pushes.
        auth_key: 16-byte authentication key (needed with ``key``).
        scaling: a custom table instead of the model's.
        max_push_bytes: cap on one push being reassembled [bytes].

    Raises:
        InvalidSetting: unknown model, a key of the wrong length, or only one of the two keys.
    """

    def __init__(
        self,
        *,
        model: str = "e450",
        key: bytes | None = None,
        auth_key: bytes | None = None,
        scaling: ScalingTable | None = None,
        max_push_bytes: int = DEFAULT_MAX_PUSH_BYTES,
    ) -> None:
        self._table = scaling if scaling is not None else scaling_for(model)
        self._keys = _keys(key, auth_key)
        self._reader = FrameReader()
        self._segments = SegmentAssembler(max_bytes=max_push_bytes)
        self._blocks = BlockAssembler(max_bytes=max_push_bytes)
        self._frames = 0
        self._pushes = 0
        self._rejected: Counter[str] = Counter()

    @property
    def stats(self) -> DecoderStats:
        """A snapshot of the counters."""
        discarded = dict(self._reader.discarded)
        return DecoderStats(
            frames=self._frames,
            pushes=self._pushes,
            rejected=sum(self._rejected.values()),
            rejected_by_reason=MappingProxyType(dict(self._rejected)),
            discarded_bytes=sum(discarded.values()),
            discarded_by_reason=MappingProxyType(discarded),
        )

    @property
    def buffered_bytes(self) -> int:
        """Bytes held for frames and pushes not yet complete (bounded; see the module docstring)."""
        return self._reader.buffered

    def feed(self, data: bytes) -> list[Push]:
        """Take the next bytes of the stream; return the pushes they complete, in order."""
        return self._on_events(self._reader.feed(data))

    def finish(self) -> list[Push]:
        """The stream has ended: scan what is left, and count a push still waiting for blocks as rejected.

        Returns:
            Pushes found in the remaining bytes (a frame behind a false frame start that never ended).
        """
        pushes = self._on_events(self._reader.flush())
        self._segments.reset()
        self._count(self._blocks.finish())
        return pushes

    def _on_events(self, events: list[HdlcFrame | FrameCorrupt]) -> list[Push]:
        pushes: list[Push] = []
        for event in events:
            if isinstance(event, FrameCorrupt):
                self._segments.reset()
                self._count(self._blocks.abort(event.error))
            else:
                self._frames += 1
                self._on_frame(event, pushes)
        return pushes

    def _count(self, error: RejectedPush | None) -> None:
        if error is not None:
            self._rejected[error.reason] += 1

    def _on_frame(self, frame: HdlcFrame, pushes: list[Push]) -> None:
        try:
            message = self._segments.add(frame)
        except RejectedPush as exc:
            self._count(self._blocks.abort(exc))
            return
        if message is None:
            return
        apdu = message[3:] if message[:3] in LLC_HEADERS else message
        if apdu[:1] == bytes((GBT_TAG,)):
            try:
                block = parse_block(apdu)
            except RejectedPush as exc:
                self._count(self._blocks.abort(exc))
                return
            outcome = self._blocks.add(block)
            self._count(outcome.rejected)
            if outcome.apdu is None:
                return
            apdu = outcome.apdu
        else:
            self._count(self._blocks.interrupt())
        try:
            pushes.append(self._decode_apdu(apdu))
            self._pushes += 1
        except RejectedPush as exc:
            self._count(exc)

    def _decode_apdu(self, apdu: bytes) -> Push:
        if apdu[:1] == bytes((GLO_CIPHERING_TAG,)):
            apdu = decrypt_apdu(apdu, self._keys)
        return push_from_notification(parse_notification(apdu), self._table)


def _keys(key: bytes | None, auth_key: bytes | None) -> Keys | None:
    if key is None and auth_key is None:
        return None
    if key is None or auth_key is None:
        raise InvalidSetting("key and auth_key go together: give both or neither")
    return Keys(key, auth_key)
