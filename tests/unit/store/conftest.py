"""Fixtures: a migrated SQLite database per test (copied from one migrated template: migrating is the slow part)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from goflex.store import Database, open_database


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, checkpointed into one file so that it can be copied."""
    path = tmp_path_factory.mktemp("template") / "goflex.db"
    database = open_database(f"sqlite:///{path}")
    database.migrate()
    with database.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    return path


@pytest.fixture
def db(tmp_path: Path, migrated_template: Path) -> Iterator[Database]:
    """A migrated SQLite file database (WAL), closed after the test."""
    target = tmp_path / "store" / "goflex.db"
    target.parent.mkdir()
    shutil.copyfile(migrated_template, target)
    database = open_database(f"sqlite:///{target}")
    yield database
    database.close()


@pytest.fixture
def memdb() -> Iterator[Database]:
    """A migrated in-memory SQLite database."""
    database = open_database("sqlite://")
    database.migrate()
    yield database
    database.close()
