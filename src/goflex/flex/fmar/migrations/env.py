"""Alembic environment of the market's tables: runs on the connection handed over by :func:`migrate_market`."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from goflex.flex.fmar.schema import metadata

VERSION_TABLE = "fmar_alembic_version"

config = context.config


def _run(connection: sa.Connection) -> None:
    # Its own version table: the platform's migrations (alembic_version) and the market's never see each other.
    context.configure(
        connection=connection, target_metadata=metadata, render_as_batch=True, version_table=VERSION_TABLE
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = config.attributes.get("connection")
if isinstance(_connection, sa.Connection):
    _run(_connection)
else:  # tooling (revision --autogenerate) with sqlalchemy.url set on the config
    _engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with _engine.begin() as _conn:
        _run(_conn)
    _engine.dispose()
