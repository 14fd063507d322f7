from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goflex.dlms import CosemDateTime, MalformedApdu


def _t(hexstr: str) -> datetime:
    return CosemDateTime.from_bytes(bytes.fromhex(hexstr)).to_utc()


def test_explicit_deviation_utc_is_local_plus_deviation() -> None:
    # E360 header: 2023-06-06 17:31:20.18 local, deviation -120 (CEST)
    assert _t("07E7060602111F1412FF8880") == datetime(2023, 6, 6, 15, 31, 20, 180_000, tzinfo=UTC)


def test_unspecified_deviation_is_zurich_local_time() -> None:
    assert _t("07E60B160210251EFF800000") == datetime(2022, 11, 22, 15, 37, 30, tzinfo=UTC)  # CET
    assert _t("07EA0504010B2715FF800081") == datetime(2026, 5, 4, 9, 39, 21, tzinfo=UTC)  # CEST


def test_dst_bit_resolves_the_autumn_hour_that_occurs_twice() -> None:
    # 2025-10-26 02:30 local occurs at 00:30 UTC (CEST) and 01:30 UTC (CET)
    summer = CosemDateTime(2025, 10, 26, 2, 30, 0, status=0x80).to_utc()
    winter = CosemDateTime(2025, 10, 26, 2, 30, 0, status=0x00).to_utc()
    assert summer == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    assert winter == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)


def test_invalid_status_is_reported_but_the_value_is_kept() -> None:
    stamp = CosemDateTime.from_bytes(bytes.fromhex("07EA0504010B2715FF800081"))
    assert stamp.invalid
    assert stamp.hundredths is None
    assert stamp.deviation_min is None


def test_wildcard_fields_are_not_an_instant() -> None:
    with pytest.raises(MalformedApdu):
        CosemDateTime.from_bytes(bytes.fromhex("FFFFFFFFFFFFFFFFFF800000")).to_utc()
    with pytest.raises(MalformedApdu):
        CosemDateTime.from_bytes(b"\x07\xe6")


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)),  # noqa: DTZ001 - hypothesis takes naive bounds
    st.integers(0, 99),
    st.booleans(),
)
def test_from_utc_to_utc_round_trip(instant: datetime, hundredths: int, local: bool) -> None:
    instant = instant.replace(microsecond=0) + timedelta(milliseconds=10 * hundredths)
    encoded = CosemDateTime.from_utc(instant, local=local)
    assert CosemDateTime.from_bytes(encoded.to_bytes()).to_utc() == instant
