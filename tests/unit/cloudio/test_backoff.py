"""Reconnect backoff (capped full jitter) and the back-fill token bucket."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goflex.cloudio.backoff import Backoff, TokenBucket

bases = st.floats(0.01, 10.0)
caps = st.floats(0.01, 600.0)
attempts = st.integers(0, 10_000)


@given(base=bases, cap=caps, attempt=attempts, seed=st.integers(0, 2**32))
def test_delay_is_always_within_zero_and_cap(base: float, cap: float, attempt: int, seed: int) -> None:
    backoff = Backoff(base_s=base, cap_s=max(base, cap))
    delay = backoff.delay(attempt, random.Random(seed))
    assert 0.0 <= delay <= backoff.ceiling(attempt) <= backoff.cap_s


@given(base=bases, cap=caps, attempt=attempts)
def test_ceiling_grows_until_the_cap_and_then_stays(base: float, cap: float, attempt: int) -> None:
    backoff = Backoff(base_s=base, cap_s=max(base, cap))
    assert backoff.ceiling(attempt + 1) >= backoff.ceiling(attempt)
    assert backoff.ceiling(attempt + 1) in (backoff.cap_s, pytest.approx(2 * backoff.ceiling(attempt)))


def test_default_backoff_reaches_the_60_s_cap_after_six_failures() -> None:
    backoff = Backoff()
    assert [backoff.ceiling(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_jitter_spreads_a_fleet_of_reconnects() -> None:
    # 1,000 gateways reconnecting after a broker restart must not all come back in the same second.
    rng = random.Random(1)
    delays = [Backoff().delay(6, rng) for _ in range(1000)]
    per_second = [sum(1 for d in delays if s <= d < s + 1) for s in range(60)]
    assert max(per_second) < 60


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="base"):
        Backoff(base_s=0)
    with pytest.raises(ValueError, match="cap"):
        Backoff(base_s=2, cap_s=1)
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate_per_s=0, burst=1, now=0)


def test_token_bucket_paces_to_its_rate_after_the_burst() -> None:
    bucket = TokenBucket(rate_per_s=50, burst=10, now=0.0)
    waits = [bucket.take(0.0) for _ in range(20)]
    assert waits[:10] == [0.0] * 10
    assert waits[10:] == pytest.approx([(i + 1) / 50 for i in range(10)])
    # After sleeping the returned time the reservation is honoured, and an idle bucket refills to its burst.
    assert bucket.take(10.0) == 0.0
    assert [bucket.take(10.0) for _ in range(9)] == [0.0] * 9
    assert bucket.take(10.0) > 0


@given(rate=st.floats(0.1, 1000.0), takes=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=200))
def test_token_bucket_never_exceeds_rate_plus_burst(rate: float, takes: list[float]) -> None:
    # Simulate a caller that waits as told: tokens granted by time T never exceed burst + rate * T.
    bucket = TokenBucket(rate_per_s=rate, burst=5, now=0.0)
    now = 0.0
    for gap in takes:
        now += gap
        now += bucket.take(now)
    assert len(takes) <= 5 + rate * now + 1e-6
