"""History database on SQLite: idempotent batches, ledger gaps, queries and resampling."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
import sqlalchemy as sa

from goflex.store import (
    Database,
    HistoryRepository,
    HistoryRow,
    InvalidValue,
    Quality,
    Resample,
    ResampleFunction,
    ValueType,
)
from goflex.store.resample import resample as reference_resample
from tests.unit.store.history_cases import EP, POWER, T0, all_resamplings, sample_rows


@pytest.fixture
def repo(db: Database) -> HistoryRepository:
    return HistoryRepository(db)


def _count(db: Database) -> int:
    with db.transaction() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM history")).scalar_one())


def test_the_same_batch_twice_is_stored_once(db: Database, repo: HistoryRepository) -> None:
    rows = sample_rows(100)
    first = repo.write_batch(rows)
    assert (first.stored, first.duplicates) == (100, 0)
    again = repo.write_batch(rows)
    assert (again.stored, again.duplicates) == (0, 100)
    assert _count(db) == 100
    assert repo.ledger_seqs(EP, 1, 1000) == list(range(1, 51))


def test_first_write_reports_what_it_stored(repo: HistoryRepository) -> None:
    result = repo.write_batch(sample_rows(10))
    assert (result.stored, result.duplicates) == (10, 0)


def test_a_repeated_message_inside_one_batch_is_stored_once(db: Database, repo: HistoryRepository) -> None:
    row = HistoryRow(EP, POWER, T0, 1.0, seq=5, item=0)
    result = repo.write_batch([row, row, HistoryRow(EP, POWER, T0, 2.0, seq=5, item=1)])
    assert (result.stored, result.duplicates) == (2, 1)
    assert _count(db) == 2


def test_a_message_seen_before_stores_nothing_even_with_new_items(db: Database, repo: HistoryRepository) -> None:
    repo.write_batch([HistoryRow(EP, POWER, T0, 1.0, seq=9, item=0)])
    result = repo.write_batch(
        [HistoryRow(EP, POWER, T0, 1.0, seq=9, item=0), HistoryRow(EP, POWER, T0, 2.0, seq=9, item=1)]
    )
    assert (result.stored, result.duplicates) == (0, 2)


def test_unsequenced_values_are_always_stored(db: Database, repo: HistoryRepository) -> None:
    row = HistoryRow("plain-cloudio", "plain-cloudio/n/o/a", T0, 1.0)
    repo.write_batch([row])
    repo.write_batch([row])
    assert _count(db) == 2


def test_sequences_are_per_endpoint(repo: HistoryRepository) -> None:
    result = repo.write_batch([HistoryRow("a", "a/n/o/x", T0, 1, seq=1), HistoryRow("b", "b/n/o/x", T0, 1, seq=1)])
    assert result.stored == 2


def test_gaps_and_ledger_max(repo: HistoryRepository) -> None:
    seqs = [3, 4, 5, 9, 10, 14]
    repo.write_batch([HistoryRow(EP, POWER, T0, float(s), seq=s) for s in seqs])
    assert repo.ledger_max(EP) == 14
    assert repo.ledger_max("unknown") is None
    assert repo.missing_ranges(EP, 1, 16) == [(1, 2), (6, 8), (11, 13), (15, 16)]
    assert repo.missing_ranges(EP, 3, 5) == []
    assert repo.missing_ranges(EP, 4, 9) == [(6, 8)]
    assert repo.missing_ranges("unknown", 1, 3) == [(1, 3)]
    assert repo.missing_ranges(EP, 5, 4) == []
    assert repo.ledger_seqs(EP, 4, 10) == [4, 5, 9, 10]


def test_raw_query_range_order_types_and_limit(repo: HistoryRepository) -> None:
    rows = sample_rows(40)
    repo.write_batch(rows)
    ordered = sorted(rows, key=lambda r: r.time)
    since, until = ordered[5].time, ordered[25].time
    got = repo.query(EP, POWER, since, until)
    assert [(p.time, p.value) for p in got] == [(r.time, r.value) for r in ordered[5:25]]
    assert got.truncated is False
    limited = repo.query(EP, POWER, since, until, limit=7)
    assert len(limited) == 7
    assert limited.truncated is True
    assert list(limited) == list(got)[:7]
    assert repo.query(EP, "no/such/path", since, until) == []


def test_every_type_round_trips(repo: HistoryRepository) -> None:
    values = {"b": True, "i": -(2**60), "n": 0.1, "s": "héllo", "n5": 5}
    repo.write_batch(
        [
            HistoryRow(EP, f"{EP}/x/{name}", T0, value, type=ValueType.NUMBER if name == "n5" else None)
            for name, value in values.items()
        ]
    )
    for name, value in values.items():
        [(_, got)] = repo.query(EP, f"{EP}/x/{name}", T0, T0 + timedelta(seconds=1))
        assert got == value
        assert type(got) is (float if name == "n5" else type(value))


def test_invalid_values_refuse_the_batch(db: Database, repo: HistoryRepository) -> None:
    with pytest.raises(InvalidValue):
        repo.write_batch([HistoryRow(EP, POWER, T0, 1.0, seq=1), HistoryRow(EP, POWER, T0, math.inf, seq=2)])
    assert _count(db) == 0
    assert repo.ledger_max(EP) is None


def test_quality_and_sequence_are_kept(db: Database, repo: HistoryRepository) -> None:
    repo.write_batch([HistoryRow(EP, POWER, T0, 1.0, Quality.BAD, seq=3, item=1)])
    with db.transaction() as conn:
        assert conn.execute(sa.text("SELECT quality, seq, item FROM history")).one() == (2, 3, 1)


@pytest.mark.parametrize("function", list(ResampleFunction))
@pytest.mark.parametrize("interval", ["1m", "15m", "1h", "1d"])
def test_resampling_equals_the_pure_core(repo: HistoryRepository, function: ResampleFunction, interval: str) -> None:
    rows = sample_rows(300)
    repo.write_batch(rows)
    spec = Resample.parse(interval, function)
    since, until = T0 + timedelta(minutes=7), T0 + timedelta(minutes=61)
    got = repo.query(EP, POWER, since, until, resample=spec)
    inside = [(r.time, r.value) for r in rows if since <= r.time < until]
    expected = reference_resample(inside, spec)
    assert [p.time for p in got] == [p.time for p in expected]
    for g, e in zip(got, expected, strict=True):
        assert math.isclose(float(g.value), float(e.value), rel_tol=1e-9, abs_tol=1e-6)
    assert isinstance(got[0].value, int if function is ResampleFunction.COUNT else float)


def test_resampled_answers_respect_the_limit(repo: HistoryRepository) -> None:
    repo.write_batch(sample_rows(300))
    for function in (ResampleFunction.MEAN, ResampleFunction.INTEGRAL):
        got = repo.query(EP, POWER, T0, T0 + timedelta(days=1), resample=Resample.parse("1m", function), limit=5)
        assert len(got) == 5
        assert got.truncated is True


def test_sqlite_and_core_agree_on_every_standard_resampling(repo: HistoryRepository) -> None:
    repo.write_batch(sample_rows(200))
    results = all_resamplings(repo)
    assert sum(v for _, v in results[("COUNT", "1d")]) == 200
