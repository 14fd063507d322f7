"""Sampling and dead bands (seed Tables 2 and 3): the invariants of goflex.gateway.sampling."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goflex.gateway.sampling import Sampler, SeriesRule, SeriesState, due, next_due_s, offer

# A run: events in time order, each either a reading (value) or a tick (None).
events = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=120.0),  # time step to the event [s]
        st.one_of(st.none(), st.floats(min_value=20.0, max_value=80.0).map(lambda v: round(v, 1))),
    ),
    max_size=80,
)
rules = st.builds(
    SeriesRule,
    period_s=st.sampled_from([5.0, 15.0, 60.0, 900.0]),
    deadband=st.sampled_from([None, 0.5, 2.0]),
    if_changing=st.booleans(),
    heartbeat_s=st.just(900.0),
)


def simulate(rule: SeriesRule, run: list[tuple[float, float | None]]) -> list[tuple[float, float]]:
    state, t, out = SeriesState(), 0.0, []
    for step, value in run:
        t += step
        if value is None:
            state, published = due(rule, state, t)
        else:
            state, published = offer(rule, state, t, value)
        if published is not None:
            out.append((t, float(published)))
    return out


@given(rules, events)
def test_never_closer_than_the_period_unless_the_change_reaches_the_dead_band(
    rule: SeriesRule, run: list[tuple[float, float | None]]
) -> None:
    published = simulate(rule, run)
    for (t0, v0), (t1, v1) in itertools.pairwise(published):
        if t1 - t0 < rule.period_s - 1e-6:
            assert rule.deadband is not None
            assert abs(v1 - v0) >= rule.deadband * (1 - 1e-9)


@given(rules, events, st.floats(min_value=0.0, max_value=5000.0))
def test_a_known_value_always_goes_out_within_its_period(
    rule: SeriesRule, run: list[tuple[float, float | None]], later: float
) -> None:
    state, t = SeriesState(), 0.0
    for step, value in run:
        t += step
        state = offer(rule, state, t, value)[0] if value is not None else due(rule, state, t)[0]
    if state.latest is None:
        return
    limit = rule.heartbeat_s if rule.if_changing else rule.period_s
    deadline = state.published_s + limit
    assert next_due_s(rule, state) <= deadline
    at = max(t, deadline) + later
    _, value = due(rule, state, at)
    assert value == state.latest  # a tick at or after the deadline publishes the latest value


def test_room_temperature_every_15_minutes_or_on_half_a_kelvin() -> None:
    rule = SeriesRule(period_s=900.0, deadband=0.5)
    state, first = offer(rule, SeriesState(), 0.0, 21.0)
    assert first == 21.0
    state, small = offer(rule, state, 60.0, 21.3)
    assert small is None  # 0.3 K inside the dead band, 60 s inside the period
    state, big = offer(rule, state, 120.0, 21.5)
    assert big == 21.5  # 0.5 K since the last publication (21.0)
    state, held = due(rule, state, 900.0)
    assert held is None  # 780 s since the last publication
    state, periodic = due(rule, state, 1020.0)
    assert periodic == 21.5


def test_sub_meter_power_goes_out_every_15_s_only_if_changing_with_a_heartbeat() -> None:
    rule = SeriesRule(period_s=15.0, if_changing=True, heartbeat_s=900.0)
    state, _ = offer(rule, SeriesState(), 0.0, 0.0)
    state, same = offer(rule, state, 15.0, 0.0)
    assert same is None
    state, changed = offer(rule, state, 30.0, 6000.0)
    assert changed == 6000.0
    state, steady = due(rule, state, 600.0)
    assert steady is None
    _, heartbeat = due(rule, state, 930.0)
    assert heartbeat == 6000.0


def test_a_silent_device_shows_as_a_gap_not_a_flat_line() -> None:
    rule = SeriesRule(period_s=5.0, max_hold_s=30.0)
    state, _ = offer(rule, SeriesState(), 0.0, 400.0)
    state, again = due(rule, state, 10.0)
    assert again == 400.0
    assert next_due_s(rule, state) == 15.0
    state, last = due(rule, state, 30.0)
    assert last == 400.0  # 30 s old: still held
    assert math.isinf(next_due_s(rule, state))
    _, stale = due(rule, state, 40.0)
    assert stale is None


def test_booleans_and_the_sampler_wrapper() -> None:
    sampler = Sampler()
    sampler.add("ep/n/o/a", SeriesRule(period_s=5.0, deadband=0.5))
    assert "ep/n/o/a" in sampler
    assert sampler.offer("ep/n/o/a", 0.0, True) is True
    assert sampler.offer("ep/n/o/a", 1.0, False) is None  # no dead band for booleans: period only
    assert sampler.due(5.0) == [("ep/n/o/a", False)]
    with pytest.raises(KeyError):
        sampler.offer("ep/n/o/other", 0.0, 1.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"period_s": 0.0},
        {"period_s": 5.0, "deadband": -1.0},
        {"period_s": 60.0, "if_changing": True, "heartbeat_s": 30.0},
    ],
)
def test_bad_rules_are_refused(kwargs: dict[str, float | bool]) -> None:
    with pytest.raises(ValueError, match="must be"):
        SeriesRule(**kwargs)
