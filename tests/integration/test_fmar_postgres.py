"""The market on a real PostgreSQL: its migrations match its schema, and a trade survives a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from goflex.common.clock import SimClock
from goflex.flex.fmar.repository import migrate_market
from goflex.flex.fmar.schema import metadata
from goflex.store.database import Database, open_database
from tests.integration.test_fmar_api import bid, buy, running_market
from tests.unit.flex.fmar.offers import NOW

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    db = open_database(pg_url)
    migrate_market(db)
    migrate_market(db)  # idempotent
    yield db
    db.close()


def test_migrations_create_exactly_the_schema(pg: Database) -> None:
    with pg.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "fmar_alembic_version"})
        assert compare_metadata(context, metadata) == []


async def test_a_trade_and_the_book_survive_a_restart_on_postgresql(pg: Database, tmp_path: Path) -> None:
    clock = SimClock(NOW, speed=0)
    async with running_market(pg, tmp_path, clock) as market:
        await market.post("/orders/sell", "agg", bid("fo-1", tf=2), key="s1")
        first = await market.post("/orders/buy", "dso", buy(0.5), key="b1")
        again = await market.post("/orders/buy", "dso", buy(0.5), key="b1")
        assert again.json() == first.json()
        before = await market.get("/orderbook", "operator")
    async with running_market(pg, tmp_path, clock) as market:
        assert await market.get("/orderbook", "operator") == before
        contracts = (await market.get("/contracts", "dso"))["contracts"]
        assert [c["energyKwh"] for c in contracts] == [0.5]
