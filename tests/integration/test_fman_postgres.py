"""FMAN on a real PostgreSQL: its migrations match its schema, and offers and bids survive a restart."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from goflex.common.clock import SimClock
from goflex.flex.fman.app import create_app
from goflex.flex.fman.market_client import MarketClient
from goflex.flex.fman.repository import FmanStore, migrate
from goflex.flex.fman.runner import add_principal
from goflex.flex.fman.schema import VERSION_TABLE, metadata
from goflex.store.database import Database, open_database
from tests.integration.test_fman import (
    FAST,
    MARKET_TOKEN,
    NOW,
    SETTINGS,
    FmarContractDouble,
    bearer,
    offer,
    served,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    db = open_database(pg_url)
    migrate(db)
    migrate(db)  # idempotent
    yield db
    db.close()


def test_migrations_create_exactly_the_schema(pg: Database) -> None:
    with pg.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, metadata) == []


async def test_offers_and_bids_survive_a_restart_on_postgresql(pg: Database) -> None:
    store = FmanStore(pg)
    token = add_principal(store, FAST, "foa-dc", role="agent", now=NOW)
    fmar, clock = FmarContractDouble(), SimClock(NOW, speed=0)
    async with served(fmar.app()) as market_url:
        market = MarketClient(f"{market_url}/api/v1", MARKET_TOKEN)
        app = create_app(store, clock, SETTINGS, market=market, hasher=FAST)
        async with served(app) as url, httpx.AsyncClient(base_url=url) as client:
            for i in (1, 2):
                headers = bearer(token) | {"Idempotency-Key": str(i)}
                response = await client.post("/api/v1/flexoffers", json=offer(f"o{i}"), headers=headers)
                assert response.json()["state"] == "accepted"
            await app.state.manager.trader.bid_round()
        assert len(fmar.open_orders()) == 1
        again = create_app(store, clock, SETTINGS, market=market, hasher=FAST)
        trader = again.state.manager.trader
        assert (len(trader.portfolio), len(trader.live)) == (2, 1)
        await trader.bid_round()
        assert len(fmar.orders) == 1  # the rebuilt bid is the same: nothing new at FMAR
        await trader.pusher.close()
        await market.close()
