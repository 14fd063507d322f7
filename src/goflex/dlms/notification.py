"""DataNotification (IEC 62056-5-3, APDU tag ``0F``): what a push setup object sends.

``0F | long-invoke-id-and-priority(4) | date-time (length 0 = absent, or 0C + 12 bytes) | body (one A-XDR Data)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from goflex.dlms.axdr import Data, decode_data, encode_data, read_length
from goflex.dlms.cosem_time import DATE_TIME_LENGTH, CosemDateTime
from goflex.dlms.errors import MalformedApdu

DATA_NOTIFICATION_TAG = 0x0F


@dataclass(frozen=True)
class DataNotification:
    """One DataNotification: ``invoke_id`` is the 32-bit long-invoke-id-and-priority as sent."""

    invoke_id: int
    time: CosemDateTime | None
    body: Data


def parse_notification(apdu: bytes) -> DataNotification:
    """Parse a DataNotification APDU; the body must use every remaining byte.

    Raises:
        MalformedApdu: another APDU, a truncated header, a date-time of the wrong length, or a bad body.
    """
    if len(apdu) < 6 or apdu[0] != DATA_NOTIFICATION_TAG:
        tag = f"0x{apdu[0]:02X}" if apdu else "nothing"
        raise MalformedApdu(f"expected a DataNotification (0x0F), got {tag}")
    invoke_id = int.from_bytes(apdu[1:5], "big")
    length, pos = read_length(apdu, 5)
    if length not in (0, DATE_TIME_LENGTH) or pos + length > len(apdu):
        raise MalformedApdu(f"notification date-time of {length} bytes")
    time = CosemDateTime.from_bytes(apdu[pos : pos + length]) if length else None
    body, end = decode_data(apdu, pos + length)
    if end != len(apdu):
        raise MalformedApdu(f"{len(apdu) - end} bytes after the notification body")
    return DataNotification(invoke_id, time, body)


def encode_notification(notification: DataNotification) -> bytes:
    """The APDU bytes of ``notification``."""
    time = b"\x00" if notification.time is None else bytes((DATE_TIME_LENGTH,)) + notification.time.to_bytes()
    return (
        bytes((DATA_NOTIFICATION_TAG,))
        + notification.invoke_id.to_bytes(4, "big")
        + time
        + encode_data(notification.body)
    )
