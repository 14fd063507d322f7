"""Hot-water draws: litres per person and day, morning and evening peaks, exact interval accounting."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.twin.dhw import DhwDraws

START_S = datetime(2024, 3, 4, tzinfo=UTC).timestamp()
PERSONS = np.array([1, 2, 3, 4, 5] * 200, dtype=np.int64)


def test_about_45_litres_per_person_and_day_clustered_morning_and_evening() -> None:
    draws = DhwDraws(PERSONS, seed=1)
    days = 14
    hourly = np.array([draws.litres(START_S + h * 3600.0, START_S + (h + 1) * 3600.0).sum() for h in range(24 * days)])
    per_person_day = hourly.sum() / days / PERSONS.sum()
    assert 42.0 < per_person_day < 48.0
    local_hour = (np.arange(24 * days) + 1) % 24  # Zurich is UTC+1 in March
    share = np.array([hourly[local_hour == h].sum() for h in range(24)]) / hourly.sum()
    morning, evening, night = share[6:9].sum(), share[18:22].sum(), share[0:5].sum()
    assert morning > 0.25
    assert evening > 0.25
    assert night < 0.03
    assert draws.litres(START_S, START_S).sum() == 0.0


def test_more_persons_draw_more() -> None:
    draws = DhwDraws(PERSONS, seed=2)
    total = draws.litres(START_S, START_S + 10 * 86400.0)
    by_persons = [total[p == PERSONS].mean() for p in range(1, 6)]
    assert by_persons == sorted(by_persons)


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.floats(min_value=0.0, max_value=2 * 86400.0), min_size=1, max_size=20))
def test_litres_add_up_over_any_split_of_an_interval(cuts: list[float]) -> None:
    draws = DhwDraws(PERSONS[:50], seed=3)
    edges = [START_S, *sorted(START_S + c for c in cuts), START_S + 2 * 86400.0]
    parts = sum(draws.litres(a, b) for a, b in itertools.pairwise(edges))
    assert np.allclose(parts, draws.litres(START_S, START_S + 2 * 86400.0), rtol=1e-9, atol=1e-9)


def test_deterministic_for_a_seed() -> None:
    a, b = DhwDraws(PERSONS, seed=4), DhwDraws(PERSONS, seed=4)
    b.litres(START_S + 5 * 86400.0, START_S + 6 * 86400.0)  # another day asked first changes nothing
    assert np.array_equal(a.litres(START_S, START_S + 86400.0), b.litres(START_S, START_S + 86400.0))
