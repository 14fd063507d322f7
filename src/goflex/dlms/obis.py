"""OBIS codes (IEC 62056-61): the six-group identifiers ``A-B:C.D.E.F`` of COSEM objects."""

from __future__ import annotations

import re
from dataclasses import dataclass

from goflex.dlms.errors import InvalidSetting

_PATTERN = re.compile(r"^(\d{1,3})-(\d{1,3}):(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?$")


@dataclass(frozen=True, order=True)
class Obis:
    """One OBIS code; every group is 0..255. F = 255 means "not used" and is dropped from :meth:`__str__`."""

    a: int
    b: int
    c: int
    d: int
    e: int
    f: int = 255

    def __post_init__(self) -> None:
        for group in (self.a, self.b, self.c, self.d, self.e, self.f):
            if not 0 <= group <= 255:
                raise InvalidSetting(f"OBIS group out of 0..255 in {self.groups}")

    @property
    def groups(self) -> tuple[int, int, int, int, int, int]:
        """The six groups A..F."""
        return (self.a, self.b, self.c, self.d, self.e, self.f)

    @property
    def cde(self) -> str:
        """``"C.D.E"``, the part the scaling tables match on (energy registers carry B = 1, others B = 0)."""
        return f"{self.c}.{self.d}.{self.e}"

    @classmethod
    def parse(cls, text: str) -> Obis:
        """Parse ``"1-0:1.7.0"`` or ``"1-0:1.7.0.255"``.

        Raises:
            InvalidSetting: the text is not an OBIS code.
        """
        match = _PATTERN.match(text.strip())
        if match is None:
            raise InvalidSetting(f"not an OBIS code: {text!r} (expected A-B:C.D.E or A-B:C.D.E.F)")
        groups = [int(g) for g in match.groups(default="255")]
        return cls(*groups)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Obis:
        """The logical name as sent in an A-XDR octet-string (6 bytes).

        Raises:
            InvalidSetting: ``raw`` is not 6 bytes long.
        """
        if len(raw) != 6:
            raise InvalidSetting(f"a logical name has 6 bytes, got {len(raw)}")
        return cls(*raw)

    def to_bytes(self) -> bytes:
        """The 6-byte logical name."""
        return bytes(self.groups)

    def __str__(self) -> str:
        text = f"{self.a}-{self.b}:{self.c}.{self.d}.{self.e}"
        return text if self.f == 255 else f"{text}.{self.f}"
