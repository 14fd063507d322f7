"""History database: every stored value, idempotent on (endpoint, sequence), with range queries and resampling.

Idempotency (reliability.md R8, "ledger exact"): a goflex endpoint numbers each MQTT message it publishes
(``seq``); one message may carry several values (``@transaction``, ``@delayed``), told apart by ``item``. In the
same transaction as the values, :meth:`HistoryRepository.write_batch` inserts ``(endpoint, seq)`` into
``ingest_ledger`` with ``ON CONFLICT DO NOTHING RETURNING`` and stores only the values of messages whose row was
new. A message delivered twice (QoS 1 redelivery, an outbox resend, two ingest workers racing) is stored once;
on PostgreSQL the second writer waits on the first one's uncommitted ledger row and then finds it taken. Values
without a sequence number (plain cloud.iO endpoints) are always stored: for them the guarantee is the broker's.

The ledger also answers gap detection (:meth:`~HistoryRepository.missing_ranges`) after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from goflex.common.clock import Clock, RealClock
from goflex.store.database import Database
from goflex.store.history_pg import PartitionManager, claim_messages, copy_history_rows
from goflex.store.resample import SQL_FUNCTIONS, Point, Resample, ResampleFunction, bucket_start, resample
from goflex.store.schema import attribute, history, ingest_ledger
from goflex.store.sql import dialect_insert
from goflex.store.values import Quality, Value, ValueType, decode_value, encode_value

DEFAULT_LIMIT = 10_000

_COLUMNS = ("attribute_id", "time", "value_num", "value_text", "quality", "seq", "item")


@dataclass(frozen=True)
class HistoryRow:
    """One value to store.

    Attributes:
        endpoint: endpoint name.
        path: attribute path (the key queries use; ingest and the API use ``endpoint/node/object.../attribute``).
        time: the value's timestamp (aware UTC).
        value: the value.
        quality: plausibility tag.
        seq: the endpoint's message sequence number, ``None`` for endpoints without one.
        item: index of the value within its message (0 for a single ``@update``).
        type: the cloud.iO type; ``None`` infers it from the Python type.
    """

    endpoint: str
    path: str
    time: datetime
    value: Value
    quality: Quality = Quality.GOOD
    seq: int | None = None
    item: int = 0
    type: ValueType | None = None


@dataclass(frozen=True)
class WriteResult:
    """Outcome of :meth:`HistoryRepository.write_batch`.

    Attributes:
        stored: values newly stored.
        duplicates: values skipped because their message ``(endpoint, seq)`` was stored before (or appeared twice
            in the batch).
    """

    stored: int
    duplicates: int


class HistoryPoints(list[Point]):
    """Query answer: ``(time, value)`` points oldest first, and whether more existed than the limit allowed."""

    truncated: bool = False


class HistoryRepository:
    """Write and query the history database. Thread-safe; one instance per process is enough."""

    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self._db = db
        self._clock: Clock = clock or RealClock()
        self._attribute_ids: dict[tuple[str, str, str], int] = {}
        self._partitions = PartitionManager(db) if db.is_postgres else None

    # -------------------------------------------------------------------------------------------------- writing
    def write_batch(self, rows: Sequence[HistoryRow]) -> WriteResult:
        """Store ``rows`` in one transaction, skipping messages already stored.

        Raises:
            InvalidValue: a value does not fit its type or is not finite (nothing of the batch is stored).
            StoreUnavailable: the database is down or busy; nothing was stored, retry the same batch.
        """
        encoded: list[tuple[HistoryRow, tuple[ValueType, float | None, str | None]]] = []
        seen: set[tuple[str, int, int]] = set()
        for row in rows:
            if row.seq is not None:
                key = (row.endpoint, row.seq, row.item)
                if key in seen:
                    continue
                seen.add(key)
            encoded.append((row, encode_value(row.value, row.type)))
        if not encoded:
            return WriteResult(0, len(rows))
        ids = self._resolve_attributes({(r.endpoint, r.path, enc[0].value) for r, enc in encoded})
        if self._partitions is not None:
            self._partitions.ensure({r.time for r, _ in encoded})
        messages = sorted({(r.endpoint, r.seq) for r, _ in encoded if r.seq is not None})
        with self._db.transaction(write=True) as conn:
            new = self._claim(conn, messages) if messages else set()
            values = [
                (ids[(r.endpoint, r.path, kind.value)], r.time, num, text, int(r.quality), r.seq, r.item)
                for r, (kind, num, text) in encoded
                if r.seq is None or (r.endpoint, r.seq) in new
            ]
            if values:
                self._insert(conn, values)
        return WriteResult(len(values), len(rows) - len(values))

    def _claim(self, conn: sa.Connection, messages: list[tuple[str, int]]) -> set[tuple[str, int]]:
        # Sorted keys: two writers of overlapping batches lock ledger rows in the same order (no deadlock).
        now = self._clock.now()
        if self._db.is_postgres:
            return claim_messages(conn, messages, now)
        insert = dialect_insert(self._db, ingest_ledger).on_conflict_do_nothing(index_elements=["endpoint", "seq"])
        params = [{"endpoint": e, "seq": s, "received_at": now} for e, s in messages]
        result = conn.execute(insert.returning(ingest_ledger.c.endpoint, ingest_ledger.c.seq), params)
        return {(e, int(s)) for e, s in result.all()}

    def _insert(self, conn: sa.Connection, values: list[tuple[Any, ...]]) -> None:
        if self._db.is_postgres:
            copy_history_rows(conn, _COLUMNS, values)
        else:
            conn.execute(history.insert(), [dict(zip(_COLUMNS, v, strict=True)) for v in values])

    def _resolve_attributes(self, keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
        missing = sorted(keys - self._attribute_ids.keys())
        if missing:
            # Own committed transaction: an id must never be cached from a transaction that later rolls back.
            insert = dialect_insert(self._db, attribute).on_conflict_do_nothing(
                index_elements=["endpoint", "path", "type"]
            )
            with self._db.transaction(write=True) as conn:
                conn.execute(insert, [{"endpoint": e, "path": p, "type": t} for e, p, t in missing])
                for endpoint_name in {e for e, _, _ in missing}:
                    query = sa.select(attribute.c.id, attribute.c.path, attribute.c.type).where(
                        attribute.c.endpoint == endpoint_name
                    )
                    for attr_id, path, kind in conn.execute(query):
                        self._attribute_ids[(endpoint_name, path, kind)] = attr_id
        return {key: self._attribute_ids[key] for key in keys}

    # --------------------------------------------------------------------------------------------------- ledger
    def ledger_seqs(self, endpoint: str, lo: int, hi: int) -> list[int]:
        """Stored sequence numbers of ``endpoint`` in ``[lo, hi]``, ascending."""
        query = (
            sa.select(ingest_ledger.c.seq)
            .where(ingest_ledger.c.endpoint == endpoint, ingest_ledger.c.seq.between(lo, hi))
            .order_by(ingest_ledger.c.seq)
        )
        with self._db.transaction() as conn:
            return [int(s) for s in conn.scalars(query)]

    def ledger_max(self, endpoint: str) -> int | None:
        """The highest stored sequence number of ``endpoint``, ``None`` if none."""
        query = sa.select(sa.func.max(ingest_ledger.c.seq)).where(ingest_ledger.c.endpoint == endpoint)
        with self._db.transaction() as conn:
            found = conn.scalar(query)
        return None if found is None else int(found)

    def ledger_max_many(self, endpoints: Sequence[str]) -> dict[str, int]:
        """The highest stored sequence number of each endpoint that has one (one query per 1,000 names)."""
        out: dict[str, int] = {}
        names = sorted(set(endpoints))
        with self._db.transaction() as conn:
            for start in range(0, len(names), 1000):
                chunk = names[start : start + 1000]
                query = (
                    sa.select(ingest_ledger.c.endpoint, sa.func.max(ingest_ledger.c.seq))
                    .where(ingest_ledger.c.endpoint.in_(chunk))
                    .group_by(ingest_ledger.c.endpoint)
                )
                out.update({name: int(top) for name, top in conn.execute(query).all()})
        return out

    def missing_ranges(self, endpoint: str, lo: int, hi: int) -> list[tuple[int, int]]:
        """Inclusive ranges of sequence numbers in ``[lo, hi]`` not stored for ``endpoint``, ascending.

        Computed in SQL with a window function, so only the gaps travel, not every stored number.
        """
        if hi < lo:
            return []
        in_range = sa.and_(ingest_ledger.c.endpoint == endpoint, ingest_ledger.c.seq.between(lo, hi))
        bounds = sa.select(sa.func.min(ingest_ledger.c.seq), sa.func.max(ingest_ledger.c.seq)).where(in_range)
        following = sa.func.lead(ingest_ledger.c.seq).over(order_by=ingest_ledger.c.seq)
        pairs = sa.select(ingest_ledger.c.seq.label("seq"), following.label("nxt")).where(in_range).subquery()
        gaps = sa.select(pairs.c.seq, pairs.c.nxt).where(pairs.c.nxt > pairs.c.seq + 1).order_by(pairs.c.seq)
        with self._db.transaction() as conn:
            first, last = conn.execute(bounds).one()
            if first is None:
                return [(lo, hi)]
            inner = [(int(s) + 1, int(n) - 1) for s, n in conn.execute(gaps)]
        out = [(lo, int(first) - 1)] if first > lo else []
        out.extend(inner)
        if last < hi:
            out.append((int(last) + 1, hi))
        return out

    def prune_ledger(self, received_before: datetime) -> int:
        """Forget ledger entries received before ``received_before``; returns how many.

        A message re-delivered after its entry was pruned would be stored again, so keep the ledger at least as
        long as any gateway outbox may resend (its age cap).
        """
        with self._db.transaction(write=True) as conn:
            result = conn.execute(ingest_ledger.delete().where(ingest_ledger.c.received_at < received_before))
        return int(result.rowcount)

    # --------------------------------------------------------------------------------------------------- query
    def query(
        self,
        endpoint: str,
        path: str,
        since: datetime,
        until: datetime,
        *,
        resample: Resample | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> HistoryPoints:
        """Values of one attribute in ``[since, until)``, oldest first, at most ``limit`` points.

        Args:
            endpoint: endpoint name.
            path: attribute path as written.
            since: start, inclusive (aware UTC).
            until: end, exclusive (aware UTC).
            resample: bucket the values (see :mod:`goflex.store.resample` for each function's meaning).
            limit: the most points returned; ``truncated`` on the answer says whether more existed.
        """
        out = HistoryPoints()
        ids = self._attribute_types(endpoint, path)
        if not ids or limit <= 0 or since >= until:
            out.truncated = bool(ids) and limit <= 0
            return out
        where = sa.and_(history.c.attribute_id.in_(list(ids)), history.c.time >= since, history.c.time < until)
        if resample is not None and resample.function in SQL_FUNCTIONS:
            points = self._aggregate(where, resample, limit + 1)
        elif resample is not None:
            points = _resample_core(self._raw(where, ids, None), resample, limit + 1)
        else:
            points = self._raw(where, ids, limit + 1)
        out.extend(points[:limit])
        out.truncated = len(points) > limit
        return out

    def _attribute_types(self, endpoint: str, path: str) -> dict[int, str]:
        query = sa.select(attribute.c.id, attribute.c.type).where(
            attribute.c.endpoint == endpoint, attribute.c.path == path
        )
        with self._db.transaction() as conn:
            return {int(i): str(t) for i, t in conn.execute(query)}

    def _raw(self, where: sa.ColumnElement[bool], types: dict[int, str], limit: int | None) -> list[Point]:
        query = (
            sa.select(history.c.time, history.c.attribute_id, history.c.value_num, history.c.value_text)
            .where(where)
            .order_by(history.c.time, history.c.seq, history.c.item)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._db.transaction() as conn:
            rows = conn.execute(query).all()
        return [Point(t, decode_value(types[a], num, text)) for t, a, num, text in rows]

    def _aggregate(self, where: sa.ColumnElement[bool], spec: Resample, limit: int) -> list[Point]:
        step = spec.interval_us
        bucket = self._bucket(step)
        value = history.c.value_num
        reducers: dict[ResampleFunction, sa.ColumnElement[Any]] = {
            ResampleFunction.MEAN: sa.func.avg(value),
            ResampleFunction.MIN: sa.func.min(value),
            ResampleFunction.MAX: sa.func.max(value),
            ResampleFunction.SUM: sa.func.sum(value),
            ResampleFunction.COUNT: sa.func.count(),
        }
        query = (
            sa.select(bucket.label("bucket"), reducers[spec.function].label("v"))
            .where(where)
            .group_by(bucket)
            .order_by(bucket)
            .limit(limit)
        )
        if spec.function is not ResampleFunction.COUNT:
            query = query.having(sa.func.count(value) > 0)  # strings only: no numeric value in the bucket
        with self._db.transaction() as conn:
            rows = conn.execute(query).all()
        as_value = int if spec.function is ResampleFunction.COUNT else float
        return [Point(bucket_start(int(b), step), as_value(v)) for b, v in rows]

    def _bucket(self, step_us: int) -> sa.ColumnElement[Any]:
        # The interval is inlined (an int, so safe): PostgreSQL only recognises the GROUP BY expression as the
        # SELECT one if both are textually identical, which two bind parameters are not.
        step: sa.ColumnElement[Any] = sa.literal_column(str(int(step_us)))
        if self._db.is_postgres:
            epoch_us = sa.extract("epoch", history.c.time) * sa.literal_column("1000000")
            return sa.cast(sa.func.floor(epoch_us / step), sa.BigInteger)
        micros = sa.type_coerce(history.c.time, sa.BigInteger)
        # Floor division also for negative times (SQLite's integer division truncates towards zero).
        return (micros - ((micros % step) + step) % step) / step


def _resample_core(points: list[Point], spec: Resample, limit: int) -> list[Point]:
    return resample(points, spec)[:limit]
