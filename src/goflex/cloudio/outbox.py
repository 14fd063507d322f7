"""The durable outbox of an endpoint: every data message is written here before it is sent.

Why (reliability.md): a broker's PUBACK is not storage. Mosquitto drops queued messages beyond its per-client
limit and loses its queue on ``kill -9``. So the endpoint gives every data message (``@update``,
``@transaction``, ``@delayed``, ``@didSet``) a per-endpoint sequence number, writes it to this SQLite file
*before* publishing it, and deletes it only when ingest confirms storage with ``@ack/<endpoint>``.

Layout::

    messages(seq INTEGER PRIMARY KEY, topic TEXT, payload BLOB, created REAL, last_sent REAL NULL, attempts INT)
    meta(key TEXT PRIMARY KEY, value INTEGER)    next_seq, dropped_by_cap, dropped_by_age

Guarantees:

* Sequence numbers strictly increase and are never reused, across restarts and crashes, even when the outbox is
  empty: the next number lives in ``meta`` and is advanced in the same transaction that inserts the message.
* Durability choice: WAL journal with ``synchronous=FULL``. In WAL mode ``NORMAL`` survives a process crash
  (``kill -9``: the WAL is in the OS page cache) but a *power cut* may roll back the last commits. On a gateway
  that would roll back ``next_seq`` after the message had already left the device, so a number could be
  reused and ingest (idempotent on (endpoint, seq)) would silently drop the new message as a duplicate. The
  Raspberry Pi gateways lose power without warning and run on SD cards, so we pay one fsync per commit that
  stores messages; :meth:`Outbox.append_many` amortises it when several messages are produced together.
  Bookkeeping commits (marking messages sent, deleting confirmed ones) run with ``NORMAL``: a power cut can
  only undo them, which makes the endpoint re-send messages that ingest then recognises as duplicates
  (idempotent on (endpoint, seq)); the next durable commit's fsync makes them durable too.
* Caps: at most ``max_messages`` entries and ``max_bytes`` of payload (oldest dropped first) and nothing older
  than ``max_age_s``; every drop is counted persistently (``dropped_by_cap``, ``dropped_by_age``) so it can be
  reported and alarmed (reliability.md R3).

One process owns an outbox file at a time (the endpoint); the object is not thread-safe. All times are
``clock.time()`` epoch seconds [s].
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from goflex.cloudio.errors import CloudioError
from goflex.common import Clock

SeqRange = tuple[int, int]
"""Inclusive range of sequence numbers ``(lo, hi)``."""

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created REAL NOT NULL,
    last_sent REAL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('next_seq', 1), ('dropped_by_cap', 0), ('dropped_by_age', 0);
"""
_FIRST_SEQ: Final = 1


class OutboxError(CloudioError):
    """The outbox file cannot be opened or written (disk full, corrupt, read-only); the message names it."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One message waiting for confirmation of storage.

    Attributes:
        seq: per-endpoint sequence number (the MQTT 5 user property ``goflex-seq``).
        topic: MQTT topic it is published on.
        payload: encoded payload bytes.
        created: when it was appended, epoch [s].
        last_sent: when it was last handed to the broker (PUBACK received), epoch [s]; None if never.
        attempts: how many times it was sent.
    """

    seq: int
    topic: str
    payload: bytes
    created: float
    last_sent: float | None
    attempts: int


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """What the outbox holds and what it had to drop.

    Attributes:
        pending: entries not yet acknowledged.
        pending_bytes: their payload size [bytes].
        dropped_by_cap: entries dropped (oldest first) because of the count or byte cap, since creation.
        dropped_by_age: entries dropped because they were older than ``max_age_s``, since creation.
        oldest_age_s: age of the oldest pending entry [s], None when empty.
        next_seq: the sequence number the next append gets.
    """

    pending: int
    pending_bytes: int
    dropped_by_cap: int
    dropped_by_age: int
    oldest_age_s: float | None
    next_seq: int


class Outbox:
    """SQLite (WAL) outbox with persistent sequence numbers, caps and drop counters.

    Args:
        path: the SQLite file; created with its directory if missing.
        endpoint: the endpoint name (for error messages and logs).
        max_messages: cap on pending entries (>= 1).
        max_age_s: entries older than this are dropped [s] (> 0).
        max_bytes: cap on the total payload size of pending entries [bytes] (>= 1).
        clock: source of time.

    Raises:
        OutboxError: the file cannot be opened or is not an outbox.
        ValueError: a cap is not positive.
    """

    def __init__(
        self,
        path: Path,
        *,
        endpoint: str,
        max_messages: int = 100_000,
        max_age_s: float = 7 * 24 * 3600.0,
        max_bytes: int = 256 * 1024 * 1024,
        clock: Clock,
    ) -> None:
        if max_messages < 1 or max_bytes < 1 or max_age_s <= 0:
            raise ValueError("outbox caps must be positive")
        self.path = path
        self.endpoint = endpoint
        self.max_messages = max_messages
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self._clock = clock
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so each append is exactly one transaction.
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # see module docstring: power cuts on SD cards
            self._synchronous_full = True
            self._db.executescript(_SCHEMA)
            count, size = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM messages"
            ).fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise OutboxError(f"outbox {path} of endpoint {endpoint!r} cannot be opened: {exc}") from exc
        # Kept in memory (one writer) so that the caps cost nothing per append; recomputed at every open.
        self._count = int(count)
        self._bytes = int(size)

    # -- lifecycle -------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------------------------

    def append(self, topic: str, payload: bytes) -> int:
        """Store one message durably and return its sequence number (call before publishing it)."""
        return self.append_many([(topic, payload)])[0]

    def append_many(self, messages: Sequence[tuple[str, bytes]]) -> list[int]:
        """Store several messages in one transaction (one fsync); return their sequence numbers in order.

        The caps are applied in the same transaction: if the outbox is full, the oldest entries are dropped and
        counted in ``dropped_by_cap``.

        Raises:
            OutboxError: the write failed; nothing was stored and no sequence number was consumed.
        """
        if not messages:
            return []
        now = self._clock.time()
        try:
            with self._transaction():
                self._expire(now)
                first = self._meta("next_seq")
                seqs = list(range(first, first + len(messages)))
                self._db.executemany(
                    "INSERT INTO messages (seq, topic, payload, created) VALUES (?, ?, ?, ?)",
                    [(seq, topic, payload, now) for seq, (topic, payload) in zip(seqs, messages, strict=True)],
                )
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (first + len(messages),))
                added = sum(len(payload) for _, payload in messages)
                self._count += len(messages)
                self._bytes += added
                self._enforce_caps()
        except OutboxError as exc:
            raise OutboxError(f"outbox {self.path} of endpoint {self.endpoint!r}: append failed: {exc}") from exc
        return seqs

    def mark_sent(self, seqs: Iterable[int]) -> None:
        """Record that these entries were handed to the broker (PUBACK) now; unknown seqs are ignored."""
        now = self._clock.time()
        rows = [(now, seq) for seq in seqs]
        if not rows:
            return
        with self._transaction(durable=False):
            self._db.executemany("UPDATE messages SET last_sent = ?, attempts = attempts + 1 WHERE seq = ?", rows)

    def ack_ranges(self, ranges: Iterable[SeqRange]) -> int:
        """Delete entries whose storage ingest confirmed; return how many were deleted.

        Ranges are inclusive; seqs not in the outbox (already acked, dropped, or never issued) are ignored.
        """
        return self._delete_ranges(ranges)

    def requeue(self, ranges: Iterable[SeqRange]) -> int:
        """Mark entries in the ranges as never sent so the back-fill re-sends them; return how many exist.

        Seqs no longer in the outbox (acked, dropped by a cap) cannot be re-sent and are ignored.
        """
        total = 0
        with self._transaction(durable=False):
            for lo, hi in _checked(ranges):
                self._db.execute("UPDATE messages SET last_sent = NULL WHERE seq BETWEEN ? AND ?", (lo, hi))
                total += int(
                    self._db.execute("SELECT COUNT(*) FROM messages WHERE seq BETWEEN ? AND ?", (lo, hi)).fetchone()[0]
                )
        return total

    def expire(self) -> int:
        """Drop entries older than ``max_age_s`` now; return how many (also done on every append)."""
        with self._transaction():
            return self._expire(self._clock.time())

    # -- reading ---------------------------------------------------------------------------------------------

    def next_batch(self, limit: int, *, older_than: float, after: int = 0) -> list[OutboxEntry]:
        """Entries to (re)send, oldest first.

        Args:
            limit: at most this many entries.
            older_than: include entries last sent at or before this epoch time [s]; never-sent entries are
                always included.
            after: only entries with a sequence number greater than this (a cursor for paging).
        """
        rows = self._db.execute(
            "SELECT seq, topic, payload, created, last_sent, attempts FROM messages"
            " WHERE seq > ? AND (last_sent IS NULL OR last_sent <= ?) ORDER BY seq LIMIT ?",
            (after, older_than, limit),
        ).fetchall()
        return [OutboxEntry(int(r[0]), str(r[1]), bytes(r[2]), float(r[3]), r[4], int(r[5])) for r in rows]

    def get(self, seq: int) -> OutboxEntry | None:
        """The entry with this sequence number, or None if it is not pending."""
        row = self._db.execute(
            "SELECT seq, topic, payload, created, last_sent, attempts FROM messages WHERE seq = ?", (seq,)
        ).fetchone()
        if row is None:
            return None
        return OutboxEntry(int(row[0]), str(row[1]), bytes(row[2]), float(row[3]), row[4], int(row[5]))

    @property
    def pending_count(self) -> int:
        """Entries not yet acknowledged."""
        return self._count

    @property
    def pending_bytes(self) -> int:
        """Total payload size of the pending entries [bytes]."""
        return self._bytes

    def oldest_age(self) -> float | None:
        """Age of the oldest pending entry [s], or None when the outbox is empty."""
        row = self._db.execute("SELECT created FROM messages ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else max(0.0, self._clock.time() - float(row[0]))

    @property
    def next_seq(self) -> int:
        """The sequence number the next append will get."""
        return self._meta("next_seq")

    def stats(self) -> OutboxStats:
        """Counters for health pages and metrics."""
        return OutboxStats(
            pending=self._count,
            pending_bytes=self._bytes,
            dropped_by_cap=self._meta("dropped_by_cap"),
            dropped_by_age=self._meta("dropped_by_age"),
            oldest_age_s=self.oldest_age(),
            next_seq=self._meta("next_seq"),
        )

    # -- internals -------------------------------------------------------------------------------------------

    def _transaction(self, *, durable: bool = True) -> _Transaction:
        """A transaction; ``durable=False`` for bookkeeping a power cut may undo (see the module docstring)."""
        if durable != self._synchronous_full:
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._synchronous_full = durable
        # On failure the counters kept in memory are recomputed from what the rollback left.
        return _Transaction(self._db, on_rollback=self._reload_counters)

    def _meta(self, key: str) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    def _count_drop(self, key: str, n: int) -> None:
        if n > 0:
            self._db.execute("UPDATE meta SET value = value + ? WHERE key = ?", (n, key))

    def _expire(self, now: float) -> int:
        cutoff = now - self.max_age_s
        count, size = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM messages WHERE created < ?", (cutoff,)
        ).fetchone()
        if count:
            self._db.execute("DELETE FROM messages WHERE created < ?", (cutoff,))
            self._count_drop("dropped_by_age", int(count))
            self._count -= int(count)
            self._bytes -= int(size)
        return int(count)

    def _enforce_caps(self) -> None:
        # Oldest first (seq order). The newest message is always kept, even if it alone exceeds max_bytes.
        cut = 0  # delete every seq <= cut
        dropped = freed = 0
        excess = self._count - self.max_messages
        if excess > 0:
            cut, freed = self._db.execute(
                "SELECT MAX(seq), COALESCE(SUM(size), 0) FROM"
                " (SELECT seq, LENGTH(payload) AS size FROM messages ORDER BY seq LIMIT ?)",
                (excess,),
            ).fetchone()
            dropped = excess
        if self._bytes - freed > self.max_bytes:
            for seq, size in self._db.execute(
                "SELECT seq, LENGTH(payload) FROM messages WHERE seq > ? ORDER BY seq", (cut,)
            ):
                if self._bytes - freed <= self.max_bytes or self._count - dropped <= 1:
                    break
                cut, freed, dropped = int(seq), freed + int(size), dropped + 1
        if dropped:
            self._db.execute("DELETE FROM messages WHERE seq <= ?", (cut,))
            self._count -= dropped
            self._bytes -= int(freed)
            self._count_drop("dropped_by_cap", dropped)

    def _delete_ranges(self, ranges: Iterable[SeqRange]) -> int:
        total = 0
        with self._transaction(durable=False):
            for lo, hi in _checked(ranges):
                count, size = self._db.execute(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM messages WHERE seq BETWEEN ? AND ?",
                    (lo, hi),
                ).fetchone()
                if count:
                    self._db.execute("DELETE FROM messages WHERE seq BETWEEN ? AND ?", (lo, hi))
                    self._count -= int(count)
                    self._bytes -= int(size)
                    total += int(count)
        return total

    def _reload_counters(self) -> None:
        count, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM messages").fetchone()
        self._count, self._bytes = int(count), int(size)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any error; SQLite errors become OutboxError."""

    def __init__(self, db: sqlite3.Connection, *, on_rollback: Callable[[], None]) -> None:
        self._db = db
        self._on_rollback = on_rollback

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox transaction cannot start: {exc}") from exc

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as commit_exc:
                self._rollback()
                raise OutboxError(f"outbox commit failed: {commit_exc}") from commit_exc
            return
        self._rollback()
        if isinstance(exc, sqlite3.Error):
            raise OutboxError(f"outbox write failed: {exc}") from exc

    def _rollback(self) -> None:
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._on_rollback()
        except sqlite3.Error:
            pass  # the original error is the one worth reporting


def _checked(ranges: Iterable[SeqRange]) -> list[SeqRange]:
    out = []
    for lo, hi in ranges:
        if lo > hi or lo < _FIRST_SEQ:
            raise ValueError(f"invalid sequence range [{lo}, {hi}]")
        out.append((lo, hi))
    return out
