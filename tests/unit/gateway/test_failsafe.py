"""The fail-safe (seed 3.2.5.6) as a state machine: manual wins, link loss closes, stale commands are dropped."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goflex.gateway.failsafe import (
    Command,
    FailSafePolicy,
    FailSafeState,
    Mode,
    on_command,
    on_link,
    on_switch,
    on_tick,
    trip_deadline_s,
)

POLICY = FailSafePolicy(loss_delay_s=60.0, command_validity_s=7200.0)


@dataclass(frozen=True)
class Ev:
    kind: str  # "link", "switch", "cmd", "tick"
    dt: float
    flag: bool
    relay: int = 1
    age_s: float = 0.0  # how old the command is when it arrives [s]


event = st.builds(
    Ev,
    kind=st.sampled_from(["link", "switch", "cmd", "tick"]),
    dt=st.floats(min_value=0.0, max_value=4000.0),
    flag=st.booleans(),
    relay=st.sampled_from([1, 2]),
    age_s=st.floats(min_value=0.0, max_value=10_000.0),
)


def apply(s: FailSafeState, t: float, e: Ev) -> FailSafeState:
    if e.kind == "link":
        return on_link(s, POLICY, t, e.flag)
    if e.kind == "switch":
        return on_switch(s, POLICY, t, e.flag)
    if e.kind == "cmd":
        return on_command(s, POLICY, t, e.relay, Command(e.flag, t - e.age_s))
    return on_tick(s, POLICY, t)


def run(events: list[Ev]) -> list[tuple[float, FailSafeState]]:
    t, s = 0.0, FailSafeState.initial(0.0)
    trace = [(t, s)]
    for e in events:
        t += e.dt
        s = apply(s, t, e)
        trace.append((t, s))
    return trace


@given(st.lists(event, max_size=60))
def test_manual_switch_closes_both_relays_whatever_is_commanded(events: list[Ev]) -> None:
    for _, s in run(events):
        if not s.switch_auto:
            assert s.relays == (True, True)
            assert s.mode is Mode.MANUAL


@given(st.lists(event, max_size=60))
def test_a_link_down_longer_than_the_delay_means_relays_closed(events: list[Ev]) -> None:
    for t, s in run(events):
        if not s.link_up and s.down_since_s is not None and t - s.down_since_s >= POLICY.loss_delay_s:
            assert s.relays == (True, True)
            assert s.mode in (Mode.FAILSAFE, Mode.MANUAL)


@given(st.lists(event, max_size=60))
def test_an_open_relay_always_has_a_reason(events: list[Ev]) -> None:
    for _, s in run(events):
        for i, closed in enumerate(s.relays):
            if not closed:
                command = s.commands[i]
                assert s.switch_auto
                assert not s.tripped
                assert s.mode is Mode.AUTO
                assert command is not None
                assert not command.closed


@given(st.lists(st.tuples(st.sampled_from([1, 2]), st.booleans(), st.floats(0.0, 100.0)), max_size=30))
def test_with_a_steady_link_relays_follow_the_last_command(commands: list[tuple[int, bool, float]]) -> None:
    t = 0.0
    s = on_link(FailSafeState.initial(t), POLICY, t, True)
    expected = [True, True]
    for relay, closed, dt in commands:
        t += dt
        s = on_command(s, POLICY, t, relay, Command(closed, t))
        expected[relay - 1] = closed
        s = on_tick(s, POLICY, t + 1e6)  # commands do not expire while the link is up
        assert s.relays == tuple(expected)


def test_short_interruption_keeps_a_running_block() -> None:
    s = on_link(FailSafeState.initial(0.0), POLICY, 0.0, True)
    s = on_command(s, POLICY, 10.0, 1, Command(False, 10.0))
    s = on_link(s, POLICY, 20.0, False)
    s = on_tick(s, POLICY, 79.0)
    assert s.relays == (False, True)
    assert trip_deadline_s(s, POLICY) == 80.0
    s = on_link(s, POLICY, 79.5, True)
    assert s.relays == (False, True)
    assert s.mode is Mode.AUTO


def test_trip_then_return_reapplies_only_a_still_valid_command() -> None:
    s = on_link(FailSafeState.initial(0.0), POLICY, 0.0, True)
    s = on_command(s, POLICY, 100.0, 1, Command(False, 100.0))
    s = on_command(s, POLICY, 100.0, 2, Command(False, 100.0 - 7000.0))  # issued long ago
    s = on_link(s, POLICY, 200.0, False)
    s = on_tick(s, POLICY, 260.0)
    assert (s.relays, s.mode) == ((True, True), Mode.FAILSAFE)
    s = on_link(s, POLICY, 1000.0, True)
    # relay 1's command is 900 s old: valid, applied again; relay 2's is 7900 s old: dropped, relay closed.
    assert s.relays == (False, True)
    assert s.commands[1] is None
    s2 = on_link(on_tick(on_link(s, POLICY, 1100.0, False), POLICY, 1200.0), POLICY, 100.0 + 7201.0, True)
    assert s2.relays == (True, True)  # relay 1's command expired during the second outage


def test_back_to_auto_drops_commands_that_expired_while_manual() -> None:
    s = on_link(FailSafeState.initial(0.0), POLICY, 0.0, True)
    s = on_command(s, POLICY, 0.0, 1, Command(False, 0.0))
    s = on_switch(s, POLICY, 10.0, False)
    assert s.relays == (True, True)
    s_soon = on_switch(s, POLICY, 100.0, True)
    assert s_soon.relays == (False, True)
    s_late = on_switch(s, POLICY, 8000.0, True)
    assert s_late.relays == (True, True)


def test_start_up_counts_as_a_lost_link_and_older_commands_are_ignored() -> None:
    s = FailSafeState.initial(0.0)
    assert s.relays == (True, True)
    s = on_tick(s, POLICY, 61.0)
    assert s.mode is Mode.FAILSAFE
    s = on_link(s, POLICY, 62.0, True)
    s = on_command(s, POLICY, 63.0, 1, Command(False, 63.0))
    s = on_command(s, POLICY, 64.0, 1, Command(True, 50.0))  # older than the held one: ignored
    assert s.relays == (False, True)
    with pytest.raises(ValueError, match="relay"):
        on_command(s, POLICY, 65.0, 3, Command(True, 65.0))


def test_an_ignored_stale_command_still_lets_the_loss_delay_run_out() -> None:
    # Found by the property above: a command older than the one held is ignored, but the time it arrives at
    # still counts, so a link lost for longer than the delay closes the relays at that instant.
    s = FailSafeState.initial(0.0)  # link down since 0
    s = on_command(s, POLICY, 0.0, 1, Command(False, 0.0))
    s = on_command(s, POLICY, 60.0, 1, Command(False, -1.0))
    assert s.tripped
    assert s.relays == (True, True)
    assert s.mode is Mode.FAILSAFE
