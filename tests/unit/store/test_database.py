"""Opening, migrating and health of the database (SQLite)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from goflex.store import Database, StoreError, StoreUnavailable, open_database
from goflex.store.database import normalise_url
from goflex.store.schema import metadata


def test_sqlite_file_is_created_with_wal_and_pragmas(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "dir" / "goflex.db"
    db = open_database(f"sqlite:///{target}")
    db.migrate()
    with db.transaction() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    assert target.exists()
    db.close()


def test_migrate_is_idempotent_and_reaches_head(db: Database) -> None:
    db.migrate()
    with db.transaction() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "v0001"


def test_migrations_match_the_schema_module(db: Database) -> None:
    """The migrated database has exactly the tables, columns and indexes of goflex.store.schema."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_two_processes_migrating_at_once_both_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/race.db"
    errors: list[BaseException] = []

    def run() -> None:
        database = open_database(url)
        try:
            database.migrate()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_url_normalisation() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite://") == "sqlite://"
    with pytest.raises(StoreError, match="sqlite"):
        normalise_url("mysql://u:secret@h/db")


def test_unsupported_url_error_hides_the_password() -> None:
    with pytest.raises(StoreError) as info:
        open_database("mysql://u:hunter2@h/db")
    assert "hunter2" not in str(info.value)


def test_ping_true_when_up(memdb: Database) -> None:
    assert memdb.ping() is True


def test_unreachable_postgres_is_unavailable_not_a_crash() -> None:
    # Port 9 (discard) on loopback: nothing listens, so the connection is refused at once.
    db = open_database("postgresql://nobody@127.0.0.1:9/none")
    assert db.ping() is False
    with pytest.raises(StoreUnavailable), db.transaction() as conn:
        conn.execute(sa.text("SELECT 1"))
    db.close()


def test_sqlite_write_lock_timeout_is_unavailable(tmp_path: Path) -> None:
    """A writer that cannot get the lock in time gets StoreUnavailable (retry), and nothing is half-written."""
    url = f"sqlite:///{tmp_path}/locked.db"
    db = open_database(url)
    db.migrate()
    impatient = open_database(url, sqlite_busy_timeout_ms=50)
    with db.transaction(write=True) as holder:
        holder.execute(sa.text("INSERT INTO ingest_ledger VALUES ('a', 1, 0)"))
        with pytest.raises(StoreUnavailable, match="locked"), impatient.transaction(write=True) as conn:
            conn.execute(sa.text("INSERT INTO ingest_ledger VALUES ('b', 1, 0)"))
    with impatient.transaction() as conn:
        assert conn.execute(sa.text("SELECT endpoint FROM ingest_ledger")).scalars().all() == ["a"]
    impatient.close()
    db.close()
