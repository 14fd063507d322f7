"""Opening a goflex database by URL, migrating it, and translating driver errors.

URLs:

* ``sqlite:///path/to/goflex.db``: the embedded default (the directory is created; WAL journal,
  ``synchronous=NORMAL``, foreign keys on, a busy timeout so concurrent writers wait instead of failing);
* ``sqlite://``: a private in-memory database (tests; one connection shared by every thread of the process);
* ``postgresql+psycopg://user@host/db`` (``postgresql://`` and ``postgres://`` are rewritten to the psycopg 3
  driver): production, with a connection pool.

Repositories call :meth:`Database.transaction` from worker threads (the API is synchronous). Every SQLAlchemy or
driver error leaving it is translated: connection loss, server shutdown, lock timeouts and deadlocks become
:class:`~goflex.store.errors.StoreUnavailable` (retry later), integrity violations :class:`Conflict`, the rest
:class:`StoreError`.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from goflex.store.errors import Conflict, InvalidValue, StoreError, StoreUnavailable

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
# Arbitrary constant, the same in every goflex process: the key of the PostgreSQL advisory lock that serialises
# concurrent migrations (two services starting at once against an empty database).
MIGRATION_LOCK_KEY: Final = 0x60F1E5


def normalise_url(url: str) -> str:
    """The SQLAlchemy URL goflex uses for ``url`` (selects psycopg 3 for PostgreSQL).

    Raises:
        StoreError: the scheme is neither SQLite nor PostgreSQL.
    """
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith(("postgresql+psycopg://", "sqlite://")):
        return url
    raise StoreError(f"database URL {sa.engine.make_url(url).render_as_string()!r}: use sqlite:/// or postgresql://")


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn SQLAlchemy/driver exceptions raised inside the block into store errors."""
    try:
        yield
    except (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError) as error:
        raise StoreUnavailable(f"database unavailable: {_short(error)}") from error
    except exc.IntegrityError as error:
        raise Conflict(f"conflicts with stored data: {_short(error)}") from error
    except exc.StatementError as error:
        if isinstance(error.orig, ValueError):  # a bind parameter refused, e.g. a naive datetime
            raise InvalidValue(str(error.orig)) from error
        raise StoreError(f"database error: {_short(error)}") from error
    except exc.SQLAlchemyError as error:
        raise StoreError(f"database error: {_short(error)}") from error


def _short(error: exc.SQLAlchemyError) -> str:
    # The original driver message without the SQL statement and its parameters (they may carry payloads).
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip().splitlines()
    return text[0] if text else type(error).__name__


class Database:
    """A goflex database: the engine, migrations, health and transactions.

    Create it with :func:`open_database`.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect: str = engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        """Whether this is PostgreSQL (partitioned history, COPY) rather than SQLite."""
        return self.dialect == "postgresql"

    @property
    def url(self) -> str:
        """The URL with any password hidden (safe to log)."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Connection]:
        """A connection inside one transaction, committed when the block ends without error.

        Args:
            write: the block writes. On SQLite the transaction then starts with ``BEGIN IMMEDIATE``, taking the
                write lock up front, so two writers queue on the busy timeout instead of deadlocking on a lock
                upgrade.

        Raises:
            StoreUnavailable: the database is unreachable, locked for longer than the timeout, or a deadlock
                was detected; nothing was committed.
            Conflict: a uniqueness or foreign-key rule was violated.
        """
        with translate_errors(), self.engine.connect() as conn:
            if write:
                conn.execution_options(goflex_write=True)  # read by the SQLite "begin" hook (same object)
            with conn.begin():
                yield conn

    def migrate(self, config: Config | None = None) -> None:
        """Upgrade the schema to the newest Alembic revision (idempotent; safe if processes start together).

        Args:
            config: the migrations to run; default: the platform's (:func:`alembic_config`). Services with tables
                of their own (the market, the aggregator) pass theirs, with their own version table.

        Raises:
            StoreUnavailable: the database is unreachable.
        """
        config = config or alembic_config()
        with self.transaction(write=True) as conn:
            if self.is_postgres:
                # Held until commit: a second process waits here, then finds the schema at head.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def ping(self) -> bool:
        """Whether the database answers a trivial query (health check; never raises)."""
        try:
            with translate_errors(), self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except StoreError:
            return False
        return True

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def alembic_config() -> Config:
    """An Alembic configuration for the migrations shipped inside the package (no ``alembic.ini`` needed)."""
    config = Config()
    location = resources.files("goflex.store") / "migrations"
    config.set_main_option("script_location", str(location))
    return config


def open_database(
    url: str, *, pool_size: int = 5, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, echo: bool = False
) -> Database:
    """Open (not migrate) the database at ``url``.

    Args:
        url: ``sqlite:///path``, ``sqlite://`` or ``postgresql[+psycopg]://...``.
        pool_size: PostgreSQL connections kept open (plus as many again on bursts).
        sqlite_busy_timeout_ms: how long a SQLite writer waits for the write lock before
            :class:`StoreUnavailable` [ms].
        echo: log every SQL statement (debugging).

    Raises:
        StoreError: unsupported URL scheme.
    """
    normalised = normalise_url(url)
    parsed = sa.engine.make_url(normalised)
    if parsed.get_backend_name() == "sqlite":
        return Database(_sqlite_engine(parsed, busy_timeout_ms=sqlite_busy_timeout_ms, echo=echo))
    engine = sa.create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=10,
        echo=echo,
        connect_args={"connect_timeout": 5},
    )
    return Database(engine)


def _enable_wal(cursor: Any, busy_timeout_ms: int) -> None:
    # The journal mode is persistent in the file, so this usually finds "wal" already. The switch itself can
    # fail with "database is locked" without waiting on the busy handler (SQLite refuses to wait there while
    # another connection starts up in rollback mode), so retry it for up to the busy timeout.
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
        else:
            return


def _sqlite_engine(url: sa.URL, *, busy_timeout_ms: int, echo: bool) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:")
    if in_memory:
        engine = sa.create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False}, echo=echo)
    else:
        # sqlite3 does not expand "~" (the default URL is sqlite:///~/.local/share/goflex/goflex.db).
        path = Path(database).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        url = url.set(database=str(path))
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, echo=echo)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # busy_timeout first: switching to WAL needs a lock that another starting process may hold.
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if not in_memory:
            _enable_wal(cursor, busy_timeout_ms)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = bool(conn.get_execution_options().get("goflex_write"))
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
