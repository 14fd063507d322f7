"""goflex.store on a real PostgreSQL: migrations, time partitions, COPY idempotency, concurrency, parity with SQLite.

Each test gets a fresh database from the ``pg_url`` fixture (tests/conftest.py).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher

from goflex.store import (
    Database,
    DeadLetterRepository,
    EndpointPermission,
    HistoryRepository,
    HistoryRow,
    LastValue,
    ProcessRepository,
    RightsRepository,
    WriteResult,
    open_database,
)
from goflex.store.history_pg import partition_name
from goflex.store.schema import metadata
from tests.unit.store.history_cases import EP, POWER, T0, all_resamplings, sample_rows

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    db = open_database(pg_url)
    db.migrate()
    yield db
    db.close()


def _scalar(db: Database, sql: str) -> int:
    with db.transaction() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def _run_together(count: int, work: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except BaseException as exc:  # reported by the caller's assertion
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_migrations_on_an_empty_database(pg_url: str) -> None:
    def migrate(_: int) -> str:
        db = open_database(pg_url)
        try:
            db.migrate()
        finally:
            db.close()
        return "ok"

    assert _run_together(3, migrate) == ["ok", "ok", "ok"]
    db = open_database(pg_url)
    assert _scalar(db, "SELECT count(*) FROM alembic_version") == 1
    assert db.ping()
    db.close()


def test_migrations_match_the_schema_module(pg: Database) -> None:
    with pg.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, metadata)

    # Partitions are created at run time and are not part of the declared schema.
    def is_partition(item: tuple[object, ...]) -> bool:
        table = item[1] if item[0] == "remove_table" else getattr(item[1], "table", None)
        return item[0] in ("remove_table", "remove_index") and str(getattr(table, "name", "")).startswith("history_")

    diff = [d for d in diff if not is_partition(d)]
    assert diff == []


def test_history_is_partitioned_by_day_with_partitions_created_ahead(pg: Database) -> None:
    history = HistoryRepository(pg)
    history.write_batch(sample_rows(200))  # 23:00 to about 23:50 on 1 March, and one day ahead
    history.write_batch([HistoryRow(EP, POWER, T0 + timedelta(hours=2), 1.0)])  # 2 March
    expected = {partition_name(date(2026, 3, d)) for d in (1, 2, 3)}
    with pg.transaction() as conn:
        names = set(
            conn.execute(
                sa.text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'history'::regclass"
                )
            ).scalars()
        )
    assert expected | {"history_default"} == names
    assert _scalar(pg, "SELECT count(*) FROM history_default") == 0
    assert _scalar(pg, f"SELECT count(*) FROM {partition_name(date(2026, 3, 1))}") == 200
    assert _scalar(pg, f"SELECT count(*) FROM {partition_name(date(2026, 3, 2))}") == 1


def test_rows_in_the_default_partition_move_into_a_new_partition(pg: Database) -> None:
    history = HistoryRepository(pg)
    history.write_batch([HistoryRow(EP, POWER, T0, 1.0, seq=1)])
    stray = datetime(2026, 6, 1, 12, tzinfo=UTC)  # no partition yet: lands in DEFAULT
    with pg.transaction(write=True) as conn:
        attr = conn.execute(sa.text("SELECT id FROM attribute")).scalar_one()
        conn.execute(
            sa.text("INSERT INTO history (attribute_id, time, value_num) VALUES (:a, :t, 5)"), {"a": attr, "t": stray}
        )
    assert _scalar(pg, "SELECT count(*) FROM history_default") == 1
    fresh = HistoryRepository(pg)  # a new process: its partition cache starts from the catalog
    fresh.write_batch([HistoryRow(EP, POWER, stray + timedelta(minutes=1), 6.0, seq=2)])
    assert _scalar(pg, "SELECT count(*) FROM history_default") == 0
    got = fresh.query(EP, POWER, stray, stray + timedelta(hours=1))
    assert [p.value for p in got] == [5.0, 6.0]


def test_copy_path_is_idempotent(pg: Database) -> None:
    history = HistoryRepository(pg)
    rows = sample_rows(1000)
    assert history.write_batch(rows) == WriteResult(1000, 0)
    assert history.write_batch(rows) == WriteResult(0, 1000)
    assert HistoryRepository(pg).write_batch(rows[:10]) == WriteResult(0, 10)
    assert _scalar(pg, "SELECT count(*) FROM history") == 1000
    assert history.missing_ranges(EP, 1, 500) == []
    ordered = sorted(rows, key=lambda r: r.time)
    got = history.query(EP, POWER, ordered[0].time, ordered[-1].time + timedelta(seconds=1))
    assert [(p.time, p.value) for p in got] == [(r.time, r.value) for r in ordered]


def test_concurrent_writers_of_the_same_batch_store_it_once(pg_url: str, pg: Database) -> None:
    rows = sample_rows(600)
    databases = [open_database(pg_url) for _ in range(4)]
    try:
        results = _run_together(4, lambda i: HistoryRepository(databases[i]).write_batch(rows))
    finally:
        for db in databases:
            db.close()
    assert all(isinstance(r, WriteResult) for r in results), results
    assert sum(r.stored for r in results if isinstance(r, WriteResult)) == 600
    assert _scalar(pg, "SELECT count(*) FROM history") == 600
    assert _scalar(pg, "SELECT count(*) FROM ingest_ledger") == 300


def test_resampling_equals_the_sqlite_result(pg: Database, tmp_path: Path) -> None:
    lite = open_database(f"sqlite:///{tmp_path}/parity.db")
    lite.migrate()
    rows = sample_rows(500)
    HistoryRepository(pg).write_batch(rows)
    HistoryRepository(lite).write_batch(rows)
    on_pg = all_resamplings(HistoryRepository(pg))
    on_lite = all_resamplings(HistoryRepository(lite))
    lite.close()
    assert on_pg.keys() == on_lite.keys()
    for key, points in on_pg.items():
        assert [t for t, _ in points] == [t for t, _ in on_lite[key]], key
        for (_, a), (_, b) in zip(points, on_lite[key], strict=True):
            assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6), key


def test_process_rights_and_dead_letters_work_on_postgres(pg: Database) -> None:
    process = ProcessRepository(pg)
    process.set_online(EP, T0 + timedelta(seconds=1))
    process.set_offline(EP, T0)
    process.update_last_values([LastValue(EP, "a/b/c", T0 + timedelta(seconds=5), 2.5)])
    process.update_last_values([LastValue(EP, "a/b/c", T0, 1.0), LastValue(EP, "a/b/d", T0, "x")])
    record = process.get_endpoint(EP)
    assert record is not None
    assert record.online is True
    assert [(v.path, v.value) for v in process.last_values(EP, "a/b")] == [("a/b/c", 2.5), ("a/b/d", "x")]

    rights = RightsRepository(pg, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    rights.create_user("alice", "pw")
    rights.create_group("ops")
    rights.add_member("ops", "alice")
    rights.create_endpoint_group("north")
    rights.add_to_endpoint_group("north", [EP])
    rights.grant_on_group("north", "ops", EndpointPermission.WRITE)
    assert rights.effective_permission("alice", EP) is EndpointPermission.WRITE
    assert rights.verify_password("alice", "pw")
    rights.create_application("ems", "ems")
    rights.transfer_ownership(EP, "ems")
    assert [tuple(g) for g in rights.topic_grants()] == [("ems", EP, EndpointPermission.OWN)]

    dead = DeadLetterRepository(pg)
    dead.add(EP, "@update/x", b"\xff\x00garbage", "not_utf8", "bad bytes", T0)
    [letter] = dead.recent(5)
    assert letter.payload == b"\xff\x00garbage"
    assert dead.count_by_reason() == {"not_utf8": 1}
