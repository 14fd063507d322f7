"""Alembic environment: runs on the connection handed over by ``Database.migrate`` (or on a URL for tooling)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from goflex.store.schema import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
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
