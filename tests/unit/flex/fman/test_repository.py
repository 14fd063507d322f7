"""FMAN's storage on SQLite: the migrations create exactly the schema; values round-trip; tokens are hashed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher

from goflex.flex import AggregationParameters, aggregate
from goflex.flex.fman.credentials import TokenVerifier, principal_of
from goflex.flex.fman.repository import BidRecord, FmanStore, OfferRecord, migrate
from goflex.flex.fman.runner import add_principal, ensure_operator
from goflex.flex.fman.schema import VERSION_TABLE, metadata
from goflex.store import Database, open_database
from goflex.store.errors import Conflict
from tests.unit.flex.flex_strategies import ORIGIN, fixed_offer

FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'fman.db'}")
    migrate(database)
    migrate(database)  # idempotent
    yield database
    database.close()


def test_migrations_create_exactly_the_schema(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, metadata) == []


def test_offers_bids_and_deliveries_round_trip(db: Database) -> None:
    store = FmanStore(db)
    add_principal(store, FAST, "foa", role="agent", now=ORIGIN)
    a, b = fixed_offer("a", 0, 2, (2, 0.0, 2.0)), fixed_offer("b", 1, 2, (1, 0.5, 1.0))
    agg = aggregate([a, b], AggregationParameters(origin=ORIGIN, est_tolerance=4))
    with store.write() as tx:
        tx.insert_offer(OfferRecord("a", "foa", "house", "accepted", a, metered={2: 0.5}), ORIGIN)
        tx.save_bid(BidRecord("bid-1", "open", 1, agg, agg.offer, "sion-1", "ord-1"), ORIGIN)
        tx.deliver("a", "foa", None, "unmatched_at_deadline", ORIGIN)
    with store.read() as tx:
        offer = tx.offer("a")
        bid = tx.bid_by_order("ord-1")
        pending = tx.pending_deliveries("foa")
    assert offer is not None
    assert (offer.offer, offer.metered) == (a, {2: 0.5})
    assert bid is not None
    assert (bid.aggregate, bid.location_id) == (agg, "sion-1")
    assert [(d.offer_id, d.reason) for d in pending] == [("a", "unmatched_at_deadline")]
    with store.write() as tx:
        assert tx.ack("foa", ["a"], ORIGIN) == 1
        assert tx.pending_deliveries("foa") == []


def test_tokens_are_stored_hashed_and_the_operator_token_goes_to_a_private_file(db: Database, tmp_path: Path) -> None:
    store = FmanStore(db)
    token = add_principal(store, FAST, "foa", role="agent", now=ORIGIN)
    assert principal_of(token) == "foa"
    with store.read() as tx:
        record = tx.agent("foa")
    assert record is not None
    assert token not in record.token_hash
    verifier = TokenVerifier(FAST, lambda: 0.0)
    assert verifier.verify(token, record.token_hash)
    assert not verifier.verify(token + "x", record.token_hash)
    with pytest.raises(Conflict):
        add_principal(store, FAST, "foa", role="agent", now=ORIGIN)
    path = tmp_path / "op" / "token.txt"
    assert ensure_operator(store, FAST, path, ORIGIN)
    assert not ensure_operator(store, FAST, path, ORIGIN)
    assert path.stat().st_mode & 0o777 == 0o600
    assert principal_of(path.read_text().strip()) == "operator"
