"""Small SQL helpers shared by the repositories (dialect-specific INSERT, path-prefix matching)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from goflex.store.database import Database


def dialect_insert(db: Database, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with ``on_conflict_do_nothing`` / ``on_conflict_do_update`` for the database's dialect."""
    if db.is_postgres:
        return postgresql.insert(table)
    return sqlite.insert(table)


def escape_like(text: str) -> str:
    """``text`` with LIKE wildcards escaped by a backslash (names may contain ``_``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def path_under(column: sa.ColumnElement[Any], prefix: str) -> sa.ColumnElement[bool]:
    """``column`` equals ``prefix`` or lies below it on a ``/`` boundary (``a/b`` is under ``a``, ``ab`` is not)."""
    prefix = prefix.rstrip("/")
    return sa.or_(column == prefix, column.like(escape_like(prefix) + "/%", escape="\\"))


def is_under(path: str, prefix: str) -> bool:
    """Python twin of :func:`path_under`."""
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")
