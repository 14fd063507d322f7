"""Fixtures of the API unit tests: a seeded SQLite database, the app on it, a recording @set publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from goflex.api.app import create_app
from goflex.common.clock import SimClock
from goflex.store import Database, open_database
from tests.unit.api.world import FAST_HASHER, NOW, FakePublisher, client_for, seed


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'api.db'}")
    database.migrate()
    seed(database)
    yield database
    database.close()


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def clock() -> SimClock:
    return SimClock(NOW, speed=0)


@pytest.fixture
def app(db: Database, publisher: FakePublisher, clock: SimClock) -> FastAPI:
    return create_app(
        db=db, publisher=publisher, clock=clock, history_max=50, password_hasher=FAST_HASHER, login_cache_s=0
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c
