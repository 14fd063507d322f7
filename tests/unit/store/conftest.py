"""Fixtures: a migrated SQLite database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from goflex.store import Database, open_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite file database (WAL), closed after the test."""
    database = open_database(f"sqlite:///{tmp_path}/store/goflex.db")
    database.migrate()
    yield database
    database.close()


@pytest.fixture
def memdb() -> Iterator[Database]:
    """A migrated in-memory SQLite database."""
    database = open_database("sqlite://")
    database.migrate()
    yield database
    database.close()
