"""Alembic environment of the market's tables: runs on the connection handed over by :func:`migrate_market`.

Its own version table: the platform's migrations (``alembic_version``) and the market's never see each other.
"""

from __future__ import annotations

from goflex.flex.fmar.schema import metadata
from goflex.store.migration_env import run_migrations

run_migrations(metadata, "fmar_alembic_version")
