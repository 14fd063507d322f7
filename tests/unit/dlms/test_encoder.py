"""decode(encode(push)) == push for every push representable at the model's scale."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.dlms import E360_STYLE, E450_STYLE, InvalidSetting, Push, PushDecoder, ScalingTable, encode_push

KEY = bytes.fromhex("5C316162209EBB790B52EB0E7FC5B11C")
AUTH_KEY = bytes.fromhex("92705C5C97286064EABAE38D190F87A4")

_energy = st.sampled_from(["1-1:1.8.0", "1-1:2.8.0", "1-1:3.8.0", "1-1:4.8.0", "1-1:1.8.1", "1-0:1.8.2"])
_power = st.sampled_from(["1-0:1.7.0", "1-0:2.7.0", "1-0:3.7.0", "1-0:4.7.0"])
_current = st.sampled_from(["1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0"])
_voltage = st.sampled_from(["1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0"])


@st.composite
def pushes(draw: st.DrawFn, model: str) -> Push:
    values: dict[str, int | float | str] = {}
    for obis in draw(st.lists(_energy, unique=True, max_size=4)):
        values[obis] = draw(st.integers(0, 2**32 - 1))
    for obis in draw(st.lists(_power, unique=True, max_size=4)):
        values[obis] = draw(st.integers(-(2**31), 2**31 - 1))
    for obis in draw(st.lists(_current, unique=True, max_size=3)):
        values[obis] = draw(st.integers(0, 65535)) / 100
    for obis in draw(st.lists(_voltage, unique=True, max_size=3)):
        raw = draw(st.integers(0, 65535))
        values[obis] = raw / 10 if model == "e360" else raw
    if draw(st.booleans()):
        values["0-1:24.2.1"] = draw(st.integers(0, 10**9))  # an M-Bus channel value
    if draw(st.booleans()):
        values["1-0:13.7.0"] = draw(st.integers(-1000, 1000)) / 1000
    device = draw(st.none() | st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20))
    base = draw(st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)))  # noqa: DTZ001 - hypothesis takes naive bounds
    time = base.replace(microsecond=0) + timedelta(milliseconds=10 * draw(st.integers(0, 99)))
    return Push(device, time, values)


def _styles() -> st.SearchStrategy:
    return st.sampled_from(
        [E450_STYLE, E360_STYLE, replace(E450_STYLE, block_size=7), replace(E360_STYLE, max_info=50)]
    )


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["e450", "e360"]).flatmap(lambda m: st.tuples(st.just(m), pushes(m))), _styles(),
       st.sampled_from("AB"), st.booleans(), st.integers(0, 2**32 - 1))  # fmt: skip
def test_decode_of_encode_is_identity(
    model_push: tuple[str, Push], style: object, layout: str, encrypted: bool, counter: int
) -> None:
    model, push = model_push
    keys = {"key": KEY, "auth_key": AUTH_KEY} if encrypted else {}
    frames = encode_push(push, model=model, layout=layout, frame=style, invocation_counter=counter, **keys)  # type: ignore[arg-type]
    decoder = PushDecoder(model=model, **keys)
    assert decoder.feed(b"".join(frames)) == [push]
    assert decoder.stats.rejected == 0
    assert decoder.stats.frames == len(frames)


def test_e450_style_frames_look_like_the_meters() -> None:
    push = Push("LGZ1", datetime(2026, 5, 4, 9, 39, 21, tzinfo=UTC), {f"1-1:{c}.8.0": 10**6 for c in range(1, 9)})
    frames = encode_push(push)
    assert len(frames) > 1
    assert all(f[1] == 0xA0 and f[2] == len(f) - 2 for f in frames)
    assert all(f[3:6] == b"\xce\xff\x03" and f[6] == 0x13 for f in frames)
    assert frames[0][9:12] == b"\xe6\xe7\x00"
    assert frames[0][12] == 0xE0
    assert all(f[9] == 0xE0 for f in frames[1:])
    assert frames[-1][10] & 0x80
    assert not frames[0][13] & 0x80


def test_custom_scaling_table() -> None:
    table = ScalingTable({"1.7.0": -3})  # a meter reporting power in mW
    push = Push(None, datetime(2024, 1, 1, tzinfo=UTC), {"1-0:1.7.0": 1.234})
    assert PushDecoder(scaling=table).feed(b"".join(encode_push(push, scaling=table))) == [push]
    [as_e450] = PushDecoder(model="e450").feed(b"".join(encode_push(push, scaling=table)))
    assert as_e450.values == {"1-0:1.7.0": 1234}


def test_unrepresentable_values_are_refused() -> None:
    t = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidSetting):
        encode_push(Push(None, t, {"1-0:32.7.0": 70_000}))
    with pytest.raises(InvalidSetting):
        encode_push(Push(None, t, {"not obis": 1}))
    with pytest.raises(InvalidSetting):
        encode_push(Push(None, t, {}), layout="C")
    with pytest.raises(InvalidSetting):
        encode_push(Push(None, t, {}), model="e999")
