"""R6: the history database goes down under load; ingest buffers, acknowledges nothing it has not committed,
reports degraded, and after recovery the ledger is exact and health is ok again.

SQLite: another process holds the write lock (``BEGIN EXCLUSIVE``), so every write fails after the busy timeout.
PostgreSQL: the database refuses connections (``ALLOW_CONNECTIONS false``) and its sessions are terminated.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import psycopg
import pytest

from goflex.ingest.service import HealthStatus
from goflex.store import Database, HistoryRepository, open_database
from tests.integration.mosquitto import MosquittoBroker
from tests.integration.test_ingest import RawEndpoint, eventually, make_ingest, unique, values

pytestmark = [pytest.mark.fault, pytest.mark.mosquitto]

MESSAGES = 40
OUTAGE_S = 3.0

Outage = Callable[[], AbstractContextManager[None]]


@contextmanager
def sqlite_lock(path: Path) -> Iterator[None]:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@contextmanager
def postgres_refusing(admin_url: str, name: str) -> Iterator[None]:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_and_outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Database, Outage]]:
    if request.param == "sqlite":
        path = tmp_path / "goflex.db"
        database = open_database(f"sqlite:///{path}", sqlite_busy_timeout_ms=200)
        outage: Outage = lambda: sqlite_lock(path)  # noqa: E731
    else:
        url: str = request.getfixturevalue("pg_url")
        admin: str = request.getfixturevalue("pg_server")
        database = open_database(url)
        outage = lambda: postgres_refusing(admin, url.rsplit("/", 1)[1])  # noqa: E731
    database.migrate()
    yield database, outage
    database.close()


async def test_database_outage_buffers_then_ledger_is_exact(
    mosquitto: MosquittoBroker, db_and_outage: tuple[Database, Outage]
) -> None:
    db, outage = db_and_outage
    async with make_ingest(mosquitto, db) as ingest, RawEndpoint(mosquitto, unique()) as ep:
        await ep.online()
        await ep.update(0.0, seq=1)
        await eventually(lambda: ep.acked() == {1}, what="first ack")
        with outage():
            acked_before = ep.acked()
            publisher = asyncio.create_task(publish(ep, range(2, MESSAGES + 1), interval_s=OUTAGE_S / MESSAGES))
            await eventually(lambda: ingest.health().status is HealthStatus.DEGRADED, what="degraded")
            assert "database" in ingest.health().detail
            await asyncio.sleep(OUTAGE_S - 1.0)
            # Nothing is confirmed while the database is down: the gateways keep it in their outboxes.
            assert ep.acked() == acked_before
            assert (ingest.metrics.registry.get_sample_value("goflex_ingest_pending_rows") or 0) > 0
            await publisher
        await eventually(lambda: ep.acked() == set(range(1, MESSAGES + 1)), timeout_s=15, what="all acked")
        await eventually(lambda: ingest.health().status is HealthStatus.OK, what="ok again")
    history = HistoryRepository(db)
    assert history.ledger_seqs(ep.name, 1, MESSAGES + 10) == list(range(1, MESSAGES + 1))
    assert sorted(values(db, ep.name)) == [float(i) for i in range(MESSAGES)]


async def publish(ep: RawEndpoint, seqs: range, *, interval_s: float) -> None:
    for seq in seqs:
        await ep.update(float(seq - 1), seq=seq, ts=time.time())
        await asyncio.sleep(interval_s)


async def test_buffer_bound_drops_the_newest_unacknowledged_and_they_are_resent(
    private_mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    # A broker of its own: retained @online models left by earlier tests on a shared broker would fill the
    # five-row buffer at subscribe time and make the outcome depend on test order.
    mosquitto = private_mosquitto
    path = tmp_path / "goflex.db"
    db = open_database(f"sqlite:///{path}", sqlite_busy_timeout_ms=100)
    db.migrate()
    try:
        async with make_ingest(mosquitto, db, max_pending=5) as ingest, RawEndpoint(mosquitto, unique()) as ep:
            await ep.online()
            await ep.update(0.0, seq=1)
            await eventually(lambda: ep.acked() == {1}, what="first ack")
            with sqlite_lock(path):
                for seq in range(2, 12):
                    await ep.update(float(seq), seq=seq)
                await eventually(
                    lambda: (ingest.metrics.registry.get_sample_value("goflex_ingest_rows_dropped_total") or 0) >= 5,
                    what="drops counted",
                )
                assert "buffer full" in ingest.health().detail
            await eventually(lambda: len(ep.acked()) == 6, what="the buffered five acked")
            dropped = set(range(2, 12)) - ep.acked()
            assert len(dropped) == 5
            # The gateway's outbox re-sends what stayed unacknowledged: stored then, exactly once.
            for seq in sorted(dropped):
                await ep.update(float(seq), seq=seq)
            await eventually(lambda: ep.acked() == set(range(1, 12)), what="all acked")
        assert HistoryRepository(db).ledger_seqs(ep.name, 1, 20) == list(range(1, 12))
    finally:
        db.close()
