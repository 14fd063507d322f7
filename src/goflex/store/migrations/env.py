"""Alembic environment of the platform's tables (process, history, access rights, metadata)."""

from __future__ import annotations

from goflex.store.migration_env import run_migrations
from goflex.store.schema import metadata

run_migrations(metadata)
