"""The body of every goflex Alembic ``env.py``: the platform's, the market's and the aggregator's.

Each runs on the connection handed over by :meth:`goflex.store.database.Database.migrate` (so the upgrade happens
inside its transaction and advisory lock), or, for tooling (``revision --autogenerate``), on the
``sqlalchemy.url`` set on the configuration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context


def run_migrations(metadata: sa.MetaData, version_table: str = "alembic_version") -> None:
    """Run the pending migrations of ``metadata``, tracked in ``version_table``.

    Args:
        metadata: the tables the migrations describe (autogenerate compares against it).
        version_table: where this set of migrations records its revision; parts sharing a database keep their own
            so they never see each other's revisions.
    """
    config = context.config

    def run(connection: sa.Connection) -> None:
        # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        context.configure(
            connection=connection, target_metadata=metadata, render_as_batch=True, version_table=version_table
        )
        with context.begin_transaction():
            context.run_migrations()

    connection = config.attributes.get("connection")
    if isinstance(connection, sa.Connection):
        run(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    try:
        with engine.begin() as conn:
            run(conn)
    finally:
        engine.dispose()
