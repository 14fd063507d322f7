"""Errors of the DLMS/COSEM push decoder and encoder.

Tree::

    GoflexError
     +- DlmsError                 base of this part
         +- RejectedPush          a push (or the frame carrying it) cannot be trusted; ``reason`` names why
         |   +- CorruptFrame      HDLC format, HCS or FCS wrong
         |   +- BrokenBlockSequence   General Block Transfer numbering broken or a push left unfinished
         |   +- AuthenticationFailed  AES-GCM tag does not verify, or a key is missing
         |   +- MalformedApdu     the APDU or its A-XDR body does not parse
         |   +- PushTooLong       reassembly exceeded the memory cap
         +- InvalidSetting        a model name or key given by the caller is unusable

The streaming decoder never lets these escape :meth:`PushDecoder.feed`; it counts them by ``reason``.
"""

from __future__ import annotations

from goflex.common.errors import GoflexError


class DlmsError(GoflexError):
    """Base of every error raised by :mod:`goflex.dlms`."""


class RejectedPush(DlmsError):  # noqa: N818 - named for the caller's decision (style.md 5)
    """Bytes that cannot become a trustworthy push; :attr:`reason` is the counter key."""

    reason = "rejected"

    def __init__(self, detail: str) -> None:
        super().__init__(f"{self.reason}: {detail}")
        self.detail = detail


class CorruptFrame(RejectedPush):
    """An HDLC frame with a wrong format byte, header check sequence or frame check sequence."""

    reason = "bad_crc"


class BrokenBlockSequence(RejectedPush):
    """A General Block Transfer block out of order, or a push that never received its last block."""

    reason = "block_sequence"


class AuthenticationFailed(RejectedPush):
    """An encrypted push whose AES-GCM tag does not verify (wrong key, or tampered bytes)."""

    reason = "auth_failed"


class MalformedApdu(RejectedPush):
    """An APDU or A-XDR body that does not parse, or parses to an unknown layout."""

    reason = "malformed_apdu"


class PushTooLong(RejectedPush):
    """A push whose reassembly exceeded the decoder's memory cap."""

    reason = "too_long"


class InvalidSetting(DlmsError):  # noqa: N818 - named for what is wrong
    """A model name, key or option given by the caller is unusable; the message names it."""
