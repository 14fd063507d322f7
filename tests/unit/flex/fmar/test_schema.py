"""The market's migrations create exactly the tables of its schema (SQLite), next to the platform's."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from goflex.flex.fmar.repository import migrate_market
from goflex.flex.fmar.schema import metadata
from goflex.store.database import open_database


def test_migrations_match_the_schema_and_share_a_database_with_the_platform() -> None:
    db = open_database("sqlite://")
    try:
        db.migrate()
        migrate_market(db)
        migrate_market(db)
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": "fmar_alembic_version"})
            # The platform's own tables and indexes are not the market's business: only differences on fmar_ count.
            diff = [d for d in compare_metadata(context, metadata) if "fmar_" in repr(d)]
        assert diff == []
    finally:
        db.close()
