"""Alembic environment of FMAN: runs on the connection handed over by :func:`goflex.flex.fman.repository.migrate`.

Its own version table (``fman_alembic_version``) lets FMAN share a database with other goflex parts.
"""

from __future__ import annotations

from goflex.flex.fman.schema import VERSION_TABLE, metadata
from goflex.store.migration_env import run_migrations

run_migrations(metadata, VERSION_TABLE)
