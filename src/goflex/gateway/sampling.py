"""When a reading goes out: sampling periods and dead bands of seed Tables 2 and 3 (pure).

Every published series (one cloud.iO attribute) follows a :class:`SeriesRule`:

* ``period_s``: the acquisition period. A series is published at most once per period, and at least once per
  period while it has a value (a held value goes out again when the period has elapsed, so the history of a
  slow sensor has no holes longer than its period);
* ``deadband``: a change of at least this much from the last *published* value goes out at once, even inside
  the period (seed Table 2: room and tank temperatures, dead band 0.5 K);
* ``if_changing``: at a period tick the value goes out only if it differs from the last published one (seed
  Table 2: sub-meter power "15 seconds (if changing)"); ``heartbeat_s`` then bounds the silence of a steady
  series, so that the platform can tell a flat line from a dead sensor (reliability.md Q3, staleness).

Invariants (tests/unit/gateway/test_sampling.py, Hypothesis):

1. two publications of a series are never closer than ``period_s`` (to 1 us) unless the second one differs from the
   first by at least ``deadband`` (or it is the first publication);
2. while a value is known and not older than ``max_hold_s``, a publication falls due at most ``period_s``
   after the previous one (or ``heartbeat_s`` for an unchanged ``if_changing`` series): :func:`due` returns it
   once that time has come.

The state is a frozen value; :func:`offer` and :func:`due` return the new state and what to publish.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

Number = float | int | bool
_EPS_S = 1e-6  # time comparisons tolerate float rounding (t0 + period - t0 may be a hair below period)


@dataclass(frozen=True)
class SeriesRule:
    """How one series is sampled.

    Attributes:
        period_s: acquisition period [s], > 0.
        deadband: change from the last published value that is published at once, in the series' unit
            (e.g. [K]); None = no publication on change.
        if_changing: at a period tick, publish only if the value changed since the last publication.
        heartbeat_s: for ``if_changing`` series, the longest silence [s] (a steady value is repeated then).
        max_hold_s: a value older than this [s] is not published again at a tick: a silent device must show
            as a gap, not as a flat line of its last reading.
    """

    period_s: float
    deadband: float | None = None
    if_changing: bool = False
    heartbeat_s: float = 900.0
    max_hold_s: float = math.inf

    def __post_init__(self) -> None:
        if not (math.isfinite(self.period_s) and self.period_s > 0):
            raise ValueError(f"period_s must be > 0, got {self.period_s}")
        if self.deadband is not None and not (math.isfinite(self.deadband) and self.deadband > 0):
            raise ValueError(f"deadband must be > 0 or None, got {self.deadband}")
        if self.if_changing and self.heartbeat_s < self.period_s:
            raise ValueError(f"heartbeat_s ({self.heartbeat_s}) must be >= period_s ({self.period_s})")
        if not self.max_hold_s > 0:
            raise ValueError(f"max_hold_s must be > 0, got {self.max_hold_s}")


@dataclass(frozen=True)
class SeriesState:
    """What the sampler remembers of one series.

    Attributes:
        latest: the latest value offered (None before the first).
        latest_s: when it was offered [s].
        published: the last value published (None before the first publication).
        published_s: when it was published [s]; -inf before the first publication.
    """

    latest: Number | None = None
    latest_s: float = -math.inf
    published: Number | None = None
    published_s: float = -math.inf


def _changed(a: Number, b: Number | None) -> bool:
    return b is None or a != b


def _beyond_deadband(value: Number, published: Number | None, deadband: float | None) -> bool:
    if deadband is None or published is None or isinstance(value, bool) or isinstance(published, bool):
        return False
    # A tiny tolerance: a change of exactly the dead band (0.5 K read as 0.49999...) counts as reaching it.
    return abs(float(value) - float(published)) >= deadband * (1 - 1e-9)


def offer(rule: SeriesRule, state: SeriesState, t: float, value: Number) -> tuple[SeriesState, Number | None]:
    """A new reading at ``t`` [s]: returns the new state and the value to publish now (or None).

    Published at once: the first value of the series, a change of at least ``deadband`` since the last
    publication, and a value whose period has elapsed (so a reading that arrives exactly on time is not held
    back until the next tick).
    """
    state = replace(state, latest=value, latest_s=t)
    if state.published is None or _beyond_deadband(value, state.published, rule.deadband):
        return _publish(state, t, value)
    return due(rule, state, t)


def due(rule: SeriesRule, state: SeriesState, t: float) -> tuple[SeriesState, Number | None]:
    """A period tick at ``t`` [s]: publish the latest value if its period (or heartbeat) has elapsed."""
    value = state.latest
    if value is None or t - state.latest_s > rule.max_hold_s + _EPS_S:
        return state, None
    elapsed = t - state.published_s
    if elapsed < rule.period_s - _EPS_S:
        return state, None
    if rule.if_changing and not _changed(value, state.published) and elapsed < rule.heartbeat_s - _EPS_S:
        return state, None
    return _publish(state, t, value)


def next_due_s(rule: SeriesRule, state: SeriesState) -> float:
    """The earliest time [s] at which :func:`due` may publish (inf without a value)."""
    if state.latest is None or state.latest_s + rule.max_hold_s < state.published_s + rule.period_s:
        return math.inf
    if rule.if_changing and not _changed(state.latest, state.published):
        return state.published_s + rule.heartbeat_s
    return state.published_s + rule.period_s


def _publish(state: SeriesState, t: float, value: Number) -> tuple[SeriesState, Number]:
    return replace(state, published=value, published_s=t), value


class Sampler:
    """The sampling states of many series (keyed by attribute path), with one rule per series.

    A small mutable wrapper over the pure functions for the gateway's loops; not thread-safe.
    """

    def __init__(self) -> None:
        self._rules: dict[str, SeriesRule] = {}
        self._states: dict[str, SeriesState] = {}

    def add(self, key: str, rule: SeriesRule) -> None:
        """Declare a series (replacing the rule keeps the state)."""
        self._rules[key] = rule
        self._states.setdefault(key, SeriesState())

    def __contains__(self, key: object) -> bool:
        return key in self._rules

    def offer(self, key: str, t: float, value: Number) -> Number | None:
        """See :func:`offer`; ``KeyError`` for an undeclared series."""
        self._states[key], out = offer(self._rules[key], self._states[key], t, value)
        return out

    def due(self, t: float, keys: list[str] | None = None) -> list[tuple[str, Number]]:
        """Every series (or ``keys``) whose publication is due at ``t`` [s], with the value to publish."""
        out: list[tuple[str, Number]] = []
        for key in self._rules if keys is None else keys:
            self._states[key], value = due(self._rules[key], self._states[key], t)
            if value is not None:
                out.append((key, value))
        return out

    def state(self, key: str) -> SeriesState:
        """The state of a series (for tests and health)."""
        return self._states[key]
