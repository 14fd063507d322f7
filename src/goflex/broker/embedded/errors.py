"""Errors of the embedded broker.

Tree::

    GoflexError
     +- EmbeddedBrokerError        anything the embedded broker raises on purpose
         +- MalformedPacket        bytes that are not a valid MQTT packet: the sender is disconnected
             +- PacketTooLarge     the announced packet is bigger than the limit (MQTT 5 reason 0x95)
             +- UnsupportedProtocol CONNECT with a protocol name or level other than MQTT 3.1.1 / 5.0

A connection's reader turns every :class:`MalformedPacket` into a DISCONNECT (MQTT 5, with the carried reason
code) and a close of *that* connection only; nothing a client sends can stop the broker.
"""

from __future__ import annotations

from goflex.common import GoflexError

REASON_MALFORMED = 0x81
REASON_PROTOCOL_ERROR = 0x82
REASON_UNSUPPORTED_PROTOCOL = 0x84
REASON_PACKET_TOO_LARGE = 0x95


class EmbeddedBrokerError(GoflexError):
    """Base of the embedded broker's errors."""


class MalformedPacket(EmbeddedBrokerError):  # noqa: N818 - named for what the reader decides (style.md 5)
    """The bytes received are not a valid MQTT packet.

    Attributes:
        reason_code: MQTT 5 reason code to send in the DISCONNECT (0x81 malformed, 0x82 protocol error, ...).
    """

    def __init__(self, problem: str, *, reason_code: int = REASON_MALFORMED) -> None:
        super().__init__(problem)
        self.reason_code = reason_code


class PacketTooLarge(MalformedPacket):
    """A packet announced more bytes than the broker accepts."""

    def __init__(self, size: int, limit: int) -> None:
        problem = f"packet of {size} bytes exceeds the limit of {limit} bytes"
        super().__init__(problem, reason_code=REASON_PACKET_TOO_LARGE)
        self.size = size
        self.limit = limit


class UnsupportedProtocol(MalformedPacket):
    """CONNECT for a protocol other than MQTT 3.1.1 (level 4) or 5.0 (level 5)."""

    def __init__(self, name: str, level: int) -> None:
        super().__init__(f"unsupported protocol {name!r} level {level}", reason_code=REASON_UNSUPPORTED_PROTOCOL)
        self.name = name
        self.level = level
