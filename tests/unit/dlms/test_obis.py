from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goflex.dlms import InvalidSetting, Obis


def test_parse_and_format_drop_f_255() -> None:
    assert str(Obis.parse("1-0:1.7.0.255")) == "1-0:1.7.0"
    assert Obis.parse("1-0:1.7.0") == Obis(1, 0, 1, 7, 0, 255)
    assert str(Obis(1, 0, 1, 8, 0, 96)) == "1-0:1.8.0.96"


def test_logical_name_bytes() -> None:
    assert Obis.from_bytes(bytes.fromhex("0100200700FF")) == Obis.parse("1-0:32.7.0")
    assert Obis.parse("0-0:42.0.0").to_bytes() == bytes.fromhex("00002A0000FF")
    assert Obis.parse("1-1:1.8.0").cde == "1.8.0"


@pytest.mark.parametrize("text", ["1-0:1.7", "1.0.1.7.0", "1-0:256.7.0", "x", ""])
def test_not_an_obis_code(text: str) -> None:
    with pytest.raises(InvalidSetting):
        Obis.parse(text)


@given(st.lists(st.integers(0, 255), min_size=6, max_size=6))
def test_text_and_bytes_round_trip(groups: list[int]) -> None:
    obis = Obis(*groups)
    assert Obis.parse(str(obis)) == obis
    assert Obis.from_bytes(obis.to_bytes()) == obis
