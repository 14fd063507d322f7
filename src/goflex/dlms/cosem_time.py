"""COSEM date-time (IEC 62056-6-2, 4.1.6.1): 12 bytes, local time with an optional deviation from UTC.

``year(2) month day weekday hour minute second hundredths deviation(2, signed minutes) clock-status``.
A deviation of 0x8000 means "not specified": the time is then local to the meter's zone (Europe/Zurich for the
pilot) and the clock-status bit 0x80 (daylight saving active) picks the right instant in the autumn hour that
occurs twice. Otherwise UTC = local + deviation (so CEST carries -120).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from goflex.dlms.errors import MalformedApdu

DATE_TIME_LENGTH = 12
DEVIATION_UNSPECIFIED = -0x8000
STATUS_INVALID = 0x01
STATUS_DST = 0x80
_NOT_SPECIFIED = 0xFF
METER_ZONE = ZoneInfo("Europe/Zurich")


@dataclass(frozen=True)
class CosemDateTime:
    """The fields of a COSEM date-time as sent.

    ``hundredths`` is ``None`` when not specified (0xFF); ``deviation_min`` is ``None`` when 0x8000
    (local time). ``weekday`` 1 = Monday .. 7, or 0xFF.
    """

    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int
    hundredths: int | None = None
    deviation_min: int | None = None
    status: int = 0
    weekday: int = _NOT_SPECIFIED

    @property
    def invalid(self) -> bool:
        """The meter flags its clock value as invalid (status bit 0x01); the value is still its best reading."""
        return bool(self.status & STATUS_INVALID)

    @classmethod
    def from_bytes(cls, raw: bytes) -> CosemDateTime:
        """Parse the 12-byte form.

        Raises:
            MalformedApdu: not 12 bytes.
        """
        if len(raw) != DATE_TIME_LENGTH:
            raise MalformedApdu(f"a date-time has 12 bytes, got {len(raw)}")
        deviation = int.from_bytes(raw[9:11], "big", signed=True)
        return cls(
            year=int.from_bytes(raw[0:2], "big"),
            month=raw[2],
            day=raw[3],
            weekday=raw[4],
            hour=raw[5],
            minute=raw[6],
            second=raw[7],
            hundredths=None if raw[8] == _NOT_SPECIFIED else raw[8],
            deviation_min=None if deviation == DEVIATION_UNSPECIFIED else deviation,
            status=raw[11],
        )

    def to_bytes(self) -> bytes:
        """The 12-byte form."""
        deviation = DEVIATION_UNSPECIFIED if self.deviation_min is None else self.deviation_min
        return (
            self.year.to_bytes(2, "big")
            + bytes((self.month, self.day, self.weekday, self.hour, self.minute, self.second))
            + bytes((_NOT_SPECIFIED if self.hundredths is None else self.hundredths,))
            + deviation.to_bytes(2, "big", signed=True)
            + bytes((self.status,))
        )

    def to_utc(self, zone: ZoneInfo = METER_ZONE) -> datetime:
        """The instant as an aware UTC datetime (hundredths become microseconds; unspecified = 0).

        Raises:
            MalformedApdu: a date or time field is not specified (wildcard) or out of range.
        """
        micro = 0 if self.hundredths is None else self.hundredths * 10_000
        try:
            naive = datetime(self.year, self.month, self.day, self.hour, self.minute, self.second, micro)  # noqa: DTZ001 - zone applied below
        except ValueError as exc:
            raise MalformedApdu(f"date-time not a concrete instant: {self}") from exc
        if self.deviation_min is not None:
            if not -720 <= self.deviation_min <= 720:
                raise MalformedApdu(f"deviation out of -720..720 min: {self.deviation_min}")
            return (naive + timedelta(minutes=self.deviation_min)).replace(tzinfo=UTC)
        # The autumn hour occurs twice; fold=0 is the first (still daylight saving) occurrence.
        fold = 0 if self.status & STATUS_DST else 1
        return naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)

    @classmethod
    def from_utc(cls, instant: datetime, *, local: bool = True, zone: ZoneInfo = METER_ZONE) -> CosemDateTime:
        """Encode an aware instant the way meters do.

        Args:
            instant: aware datetime; sub-hundredth precision is truncated.
            local: True (E450 style): local time in ``zone`` with deviation "not specified" and the DST bit set
                when daylight saving is active. False (E360 style): local time with an explicit deviation.
            zone: the meter's time zone.
        """
        wall = instant.astimezone(zone)
        dst = bool(wall.dst())
        offset = wall.utcoffset() or timedelta(0)
        micro = instant.microsecond
        return cls(
            year=wall.year,
            month=wall.month,
            day=wall.day,
            weekday=wall.isoweekday(),
            hour=wall.hour,
            minute=wall.minute,
            second=wall.second,
            hundredths=micro // 10_000 if micro else None,
            deviation_min=None if local else -int(offset.total_seconds() // 60),
            status=STATUS_DST if dst else 0,
        )
