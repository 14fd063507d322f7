"""PostgreSQL specifics of the history table: daily time partitions created ahead, and COPY for bulk writes.

``history`` is ``PARTITION BY RANGE (time)`` with one partition per UTC day (``history_pYYYYMMDD``) and a DEFAULT
partition as a safety net (migration v0001). Before a batch is written, :class:`PartitionManager` makes sure
the partitions of every day in it, and of the day after the newest (so midnight never waits on DDL), exist.
Known partitions are cached, so the usual batch costs no catalog query. Partitions are created in their own
short transaction under an advisory lock, so concurrent ingest workers do not collide.

If rows ever landed in the DEFAULT partition for a day that gets its own partition later, PostgreSQL would
refuse to create it; the partition is therefore built detached, the day's rows are moved into it from the
default partition, and it is attached afterwards.

Retention is a matter of ``DROP TABLE history_pYYYYMMDD`` (or ``DETACH PARTITION``) for old days.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import sqlalchemy as sa

from goflex.store.database import Database
from goflex.store.schema import UtcTime

log = logging.getLogger(__name__)

PARTITION_LOCK_KEY: Final = 0x60F1E6
_NAME: Final = re.compile(r"^history_p(\d{8})$")


def partition_name(day: date) -> str:
    """Name of the partition holding ``day`` (UTC)."""
    return f"history_p{day:%Y%m%d}"


class PartitionManager:
    """Creates daily partitions of ``history`` on demand and remembers which exist."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._known: set[date] | None = None
        self._lock = threading.Lock()

    def ensure(self, times: Iterable[datetime]) -> None:
        """Make sure the partitions for every time in ``times``, and the day after the newest, exist."""
        days = {t.astimezone(UTC).date() for t in times}
        if not days:
            return
        days.add(max(days) + timedelta(days=1))
        with self._lock:
            known = self._load() if self._known is None else self._known
            missing = sorted(days - known)
            if not missing:
                return
            with self._db.transaction(write=True) as conn:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PARTITION_LOCK_KEY})
                existing = _existing(conn)
                for day in missing:
                    if day not in existing:
                        _create(conn, day)
                        existing.add(day)
            self._known = existing

    def known(self) -> set[date]:
        """Days with a partition (from the cache, loaded on first use)."""
        with self._lock:
            return set(self._load() if self._known is None else self._known)

    def _load(self) -> set[date]:
        with self._db.transaction() as conn:
            self._known = _existing(conn)
        return self._known


def _existing(conn: sa.Connection) -> set[date]:
    rows = conn.execute(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'history'::regclass"
        )
    ).scalars()
    out: set[date] = set()
    for name in rows:
        match = _NAME.match(name)
        if match:
            out.add(datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=UTC).date())
    return out


def _create(conn: sa.Connection, day: date) -> None:
    name = partition_name(day)  # built from a date: safe to interpolate
    lo = datetime.combine(day, time(0), tzinfo=UTC)
    hi = lo + timedelta(days=1)
    bounds = {"lo": lo, "hi": hi}
    conn.execute(sa.text(f"CREATE TABLE {name} (LIKE history INCLUDING DEFAULTS)"))
    moved = conn.execute(
        sa.text(
            f"WITH moved AS (DELETE FROM history_default WHERE time >= :lo AND time < :hi RETURNING *) "  # noqa: S608
            f"INSERT INTO {name} SELECT * FROM moved"
        ),
        bounds,
    ).rowcount
    if moved:
        log.warning("moved %d history rows of %s out of the default partition", moved, day.isoformat())
    lo_text, hi_text = lo.isoformat(), hi.isoformat()
    conn.execute(sa.text(f"ALTER TABLE history ATTACH PARTITION {name} FOR VALUES FROM ('{lo_text}') TO ('{hi_text}')"))


def copy_history_rows(conn: sa.Connection, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Bulk-insert ``rows`` into ``history`` with ``COPY ... FROM STDIN`` inside the connection's transaction.

    COPY into the partitioned table routes each row to its partition; rows were already filtered against the
    ledger, so no staging table is needed for conflict handling.
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    statement = f"COPY history ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(["int4", "timestamptz", "float8", "text", "int2", "int8", "int4"])
        for row in rows:
            copy.write_row(row)


_CLAIM: Final = sa.text(
    "INSERT INTO ingest_ledger (endpoint, seq, received_at) "
    "SELECT e, s, :now FROM unnest(CAST(:endpoints AS text[]), CAST(:seqs AS bigint[])) AS m(e, s) ORDER BY e, s "
    "ON CONFLICT DO NOTHING RETURNING endpoint, seq"
).bindparams(sa.bindparam("now", type_=UtcTime()))


def claim_messages(conn: sa.Connection, messages: Sequence[tuple[str, int]], now: datetime) -> set[tuple[str, int]]:
    """Insert ``(endpoint, seq)`` ledger rows in one statement; the pairs that were new (not stored before).

    One round trip with two arrays instead of a multi-row VALUES list: at thousands of messages per batch the
    statement building, not the database, was the cost. Rows are inserted in key order, so concurrent writers
    of overlapping batches take row locks in the same order and cannot deadlock.
    """
    params = {"endpoints": [e for e, _ in messages], "seqs": [s for _, s in messages], "now": now}
    return {(e, int(s)) for e, s in conn.execute(_CLAIM, params)}
