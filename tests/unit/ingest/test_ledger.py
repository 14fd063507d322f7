"""The sequence ledger: what is stored, what is missing, when ingest asks an endpoint to re-send."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from goflex.ingest.ledger import Ledger, range_count, subtract, to_ranges, to_ranges_sorted

EP = "goflex-dc-001"


def expand(ranges: tuple[tuple[int, int], ...]) -> set[int]:
    return {s for lo, hi in ranges for s in range(lo, hi + 1)}


def test_to_ranges_compresses_and_collapses_duplicates() -> None:
    assert to_ranges([5, 1, 2, 3, 3, 7]) == ((1, 3), (5, 5), (7, 7))
    assert to_ranges([]) == ()


def test_gap_is_asked_for_only_after_the_grace_period() -> None:
    ledger = Ledger(grace_s=10)
    ledger.record(EP, [1, 2, 4], now=100.0)
    assert ledger.due(EP, now=105.0) == ()
    assert ledger.due(EP, now=110.0) == ((3, 3),)
    ledger.mark_requested(EP, ((3, 3),), now=110.0)
    assert ledger.due(EP, now=111.0) == ()  # not asked again at once
    ledger.record(EP, [3], now=112.0)
    assert ledger.open_gaps() == 0
    assert ledger.due(EP, now=1000.0) == ()


def test_duplicates_are_reported() -> None:
    ledger = Ledger()
    first = ledger.record(EP, [1, 2, 3], now=0.0)
    again = ledger.record(EP, [2, 3, 4], now=1.0)
    assert (first.new, first.duplicates) == (3, 0)
    assert (again.new, again.duplicates) == (1, 2)


def test_seeded_ledger_asks_only_for_what_the_database_misses() -> None:
    # A restarted worker must not ask for everything again: it starts from the database's ledger.
    ledger = Ledger(grace_s=0)
    ledger.seed(EP, highest=50_000, missing=((17, 18),), now=0.0)
    ledger.record(EP, [50_001], now=1.0)
    assert ledger.due(EP, now=1.0) == ((17, 18),)


def test_lookback_bounds_what_is_tracked() -> None:
    ledger = Ledger(grace_s=0, lookback=100)
    ledger.record(EP, [1, 1000], now=0.0)
    assert ledger.due(EP, now=0.0) == ((901, 999),)
    assert ledger.abandoned_total == 899  # 2..900 fell out of the lookback


def test_confirm_settles_gaps_stored_by_another_worker() -> None:
    ledger = Ledger(grace_s=0)
    ledger.record(EP, [1, 10], now=0.0)
    assert ledger.due(EP, now=0.0) == ((2, 9),)
    ledger.confirm(EP, checked=((2, 9),), missing=((5, 6),), now=0.0)
    state = ledger.get(EP)
    assert state is not None
    assert state.missing() == ((5, 6),)
    assert ledger.due(EP, now=0.0) == ()  # just requested


def test_gap_asked_for_too_often_is_abandoned() -> None:
    ledger = Ledger(grace_s=0, retry_s=0, max_requests=2)
    ledger.record(EP, [1, 3], now=0.0)
    for _ in range(2):
        ranges = ledger.due(EP, now=0.0)
        assert ranges == ((2, 2),)
        ledger.mark_requested(EP, ranges, now=0.0)
    assert ledger.due(EP, now=0.0) == ()
    assert ledger.abandoned_total == 1


def test_request_size_is_capped() -> None:
    ledger = Ledger(grace_s=0, max_request=5)
    ledger.record(EP, [1, 100], now=0.0)
    assert ledger.due(EP, now=0.0) == ((2, 6),)


@given(
    published=st.sets(st.integers(min_value=1, max_value=300), min_size=1),
    data=st.data(),
)
def test_any_interleaving_stores_the_distinct_seqs_and_asks_exactly_for_the_missing(
    published: set[int], data: st.DataObject
) -> None:
    # Arrival order is any interleaving, with duplicates (QoS 1 redelivery, outbox re-sends), in batches.
    arrivals = data.draw(st.permutations(sorted(published) + data.draw(st.lists(st.sampled_from(sorted(published))))))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(arrivals)), max_size=5)))
    ledger = Ledger(grace_s=10, max_request=10**6)
    now = 0.0
    new = 0
    for lo, hi in zip([0, *cuts], [*cuts, len(arrivals)], strict=True):
        new += ledger.record(EP, arrivals[lo:hi], now).new
        now += data.draw(st.floats(0, 5))
    state = ledger.get(EP)
    assert state is not None
    assert expand(state.stored()) == published
    assert new == len(published)
    top = max(published)
    missing = set(range(1, top + 1)) - published
    assert expand(ledger.due(EP, now=now + 10.5)) == missing
    assert ledger.open_gaps() == len(missing)


@given(
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 10))),
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 10))),
)
def test_subtract_is_set_difference(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> None:
    ra = to_ranges_sorted((lo, lo + n) for lo, n in a)
    rb = to_ranges_sorted((lo, lo + n) for lo, n in b)
    result = subtract(ra, rb)
    assert expand(result) == expand(ra) - expand(rb)
    assert range_count(result) == len(expand(result))
