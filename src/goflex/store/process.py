"""Process database: each endpoint's data model, online state and the last value of every attribute.

Fed by ingest from ``@online`` / ``@nodeAdded`` / ``@offline`` / ``@update`` (issue 2 section 5) and read by the API
(``GET /data/<endpoint>``). Events may arrive out of order (a backlog drains after a reconnect, several ingest
workers share the load), so every write keeps the newest by timestamp: an older value, model or online/offline
event never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from goflex.common.clock import Clock, RealClock
from goflex.store.database import Database
from goflex.store.errors import Conflict, NotFound
from goflex.store.schema import endpoint, last_value, principal
from goflex.store.sql import dialect_insert, escape_like, path_under
from goflex.store.values import Value, ValueType, decode_value, encode_value

# Moves an endpoint's last_seen forward (executemany with parameters n, at).
_TOUCH = (
    endpoint.update()
    .where(
        endpoint.c.name == sa.bindparam("n"),
        sa.or_(endpoint.c.last_seen.is_(None), endpoint.c.last_seen < sa.bindparam("at")),
    )
    .values(last_seen=sa.bindparam("at"))
)


@dataclass(frozen=True)
class LastValue:
    """The newest value of one attribute.

    Attributes:
        endpoint: endpoint name.
        path: attribute path below the endpoint, ``node/object[/object...]/attribute``.
        time: the value's timestamp (aware UTC).
        value: the value.
        type: its cloud.iO type; ``None`` on input infers it from the Python type.
    """

    endpoint: str
    path: str
    time: datetime
    value: Value
    type: ValueType | None = None


@dataclass(frozen=True)
class EndpointRecord:
    """What the process database knows about one endpoint.

    Attributes:
        name: endpoint name (= certificate CN).
        created_at: when the platform first knew it.
        owner: name of the owning principal, ``None`` for an endpoint first seen by ingest and not yet adopted.
        banned: refused by the platform.
        model_json: the data model document of the newest ``@online`` / model update, as JSON text.
        model_at: the timestamp of that model.
        online: whether the newest online/offline event was ``@online``.
        since: the time of that event.
        last_seen: the newest timestamp of anything received from it.
    """

    name: str
    created_at: datetime
    owner: str | None
    banned: bool
    model_json: str | None
    model_at: datetime | None
    online: bool
    since: datetime | None
    last_seen: datetime | None


class ProcessRepository:
    """Endpoint models, online state, last values and the endpoint lifecycle."""

    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self._db = db
        self._clock: Clock = clock or RealClock()

    # ------------------------------------------------------------------------------------------------ lifecycle
    def create_endpoint(self, name: str, owner: str | None) -> EndpointRecord:
        """Register a new endpoint, owned by the principal ``owner`` (a user or application name).

        Raises:
            Conflict: an endpoint of that name exists already.
            NotFound: ``owner`` is not a known principal.
        """
        with self._db.transaction(write=True) as conn:
            owner_id = None
            if owner is not None:
                owner_id = conn.scalar(sa.select(principal.c.id).where(principal.c.name == owner))
                if owner_id is None:
                    raise NotFound("principal", owner)
            exists = conn.scalar(sa.select(endpoint.c.name).where(endpoint.c.name == name))
            if exists is not None:
                raise Conflict(f"endpoint {name!r} exists already")
            conn.execute(endpoint.insert().values(name=name, created_at=self._clock.now(), owner_id=owner_id))
        record = self.get_endpoint(name)
        assert record is not None
        return record

    def ban_endpoint(self, name: str, *, banned: bool = True) -> None:
        """Ban (or with ``banned=False`` reinstate) an endpoint.

        Raises:
            NotFound: no such endpoint.
        """
        with self._db.transaction(write=True) as conn:
            result = conn.execute(endpoint.update().where(endpoint.c.name == name).values(banned=banned))
            if result.rowcount == 0:
                raise NotFound("endpoint", name)

    def is_banned(self, name: str) -> bool:
        """Whether ``name`` is banned (an unknown endpoint is not)."""
        with self._db.transaction() as conn:
            return bool(conn.scalar(sa.select(endpoint.c.banned).where(endpoint.c.name == name)))

    # ------------------------------------------------------------------------------------------- model, online
    def upsert_endpoint_model(self, name: str, model_json: str, at: datetime) -> None:
        """Store the endpoint's data model (JSON text from ``@online`` or rebuilt after ``@nodeAdded``).

        A model older than the stored one is ignored. The endpoint is created if unknown.
        """
        with self._db.transaction(write=True) as conn:
            self._ensure(conn, name)
            newer = sa.or_(endpoint.c.model_at.is_(None), endpoint.c.model_at <= at)
            conn.execute(
                endpoint.update().where(endpoint.c.name == name, newer).values(model_json=model_json, model_at=at)
            )
            self._touch(conn, name, at)

    def record_events(
        self,
        models: Sequence[tuple[str, str, datetime]] = (),
        presence: Sequence[tuple[str, datetime, bool]] = (),
    ) -> None:
        """Many endpoint events in one transaction: models ``(name, model_json, at)`` and online/offline
        ``(name, at, online)``, applied in order with the same newer-only rules as the single-event methods.

        A fleet reconnecting after a broker restart sends thousands of ``@online`` at once; one transaction per
        event held ingest up for minutes at the ESR territory's scale (11,687 gateways).
        """
        names = sorted({m[0] for m in models} | {p[0] for p in presence})
        if not names:
            return
        now = self._clock.now()
        create = dialect_insert(self._db, endpoint).on_conflict_do_nothing(index_elements=["name"])
        set_model = (
            endpoint.update()
            .where(
                endpoint.c.name == sa.bindparam("n"),
                sa.or_(endpoint.c.model_at.is_(None), endpoint.c.model_at <= sa.bindparam("at")),
            )
            .values(model_json=sa.bindparam("j"), model_at=sa.bindparam("at"))
        )
        set_state = (
            endpoint.update()
            .where(
                endpoint.c.name == sa.bindparam("n"),
                sa.or_(endpoint.c.online_since.is_(None), endpoint.c.online_since <= sa.bindparam("at")),
            )
            .values(online=sa.bindparam("o"), online_since=sa.bindparam("at"))
        )
        seen: dict[str, datetime] = {}
        for name, at in [(m[0], m[2]) for m in models] + [(p[0], p[1]) for p in presence]:
            seen[name] = max(at, seen.get(name, at))
        with self._db.transaction(write=True) as conn:
            conn.execute(create, [{"name": n, "created_at": now} for n in names])
            if models:
                conn.execute(set_model, [{"n": n, "j": j, "at": at} for n, j, at in models])
            if presence:
                conn.execute(set_state, [{"n": n, "at": at, "o": o} for n, at, o in presence])
            conn.execute(_TOUCH, [{"n": n, "at": at} for n, at in sorted(seen.items())])

    def set_online(self, name: str, at: datetime) -> None:
        """Record ``@online`` at ``at`` (ignored if a newer online/offline event is stored)."""
        self._set_state(name, at, online=True)

    def set_offline(self, name: str, at: datetime) -> None:
        """Record ``@offline`` at ``at`` (ignored if a newer online/offline event is stored)."""
        self._set_state(name, at, online=False)

    def _set_state(self, name: str, at: datetime, *, online: bool) -> None:
        with self._db.transaction(write=True) as conn:
            self._ensure(conn, name)
            newer = sa.or_(endpoint.c.online_since.is_(None), endpoint.c.online_since <= at)
            conn.execute(endpoint.update().where(endpoint.c.name == name, newer).values(online=online, online_since=at))
            self._touch(conn, name, at)

    def _ensure(self, conn: sa.Connection, name: str) -> None:
        insert = dialect_insert(self._db, endpoint).values(name=name, created_at=self._clock.now())
        conn.execute(insert.on_conflict_do_nothing(index_elements=["name"]))

    @staticmethod
    def _touch(conn: sa.Connection, name: str, at: datetime) -> None:
        older = sa.or_(endpoint.c.last_seen.is_(None), endpoint.c.last_seen < at)
        conn.execute(endpoint.update().where(endpoint.c.name == name, older).values(last_seen=at))

    # ---------------------------------------------------------------------------------------------- last values
    def update_last_values(self, rows: Sequence[LastValue]) -> int:
        """Keep the newest value per attribute; an older timestamp never overwrites a newer one.

        Also moves the endpoint's ``last_seen`` forward (for endpoints that exist).

        Returns:
            the number of attributes whose last value changed.

        Raises:
            InvalidValue: a value does not fit its type or is not finite.
        """
        newest: dict[tuple[str, str], LastValue] = {}
        for row in rows:
            key = (row.endpoint, row.path)
            kept = newest.get(key)
            if kept is None or row.time >= kept.time:
                newest[key] = row
        if not newest:
            return 0
        params = []
        for row in newest.values():
            kind, num, text = encode_value(row.value, row.type)
            params.append(
                {
                    "endpoint": row.endpoint,
                    "path": row.path,
                    "time": row.time,
                    "type": kind.value,
                    "value_num": num,
                    "value_text": text,
                }
            )
        insert = dialect_insert(self._db, last_value)
        upsert = insert.on_conflict_do_update(
            index_elements=["endpoint", "path"],
            set_={c: insert.excluded[c] for c in ("time", "type", "value_num", "value_text")},
            where=last_value.c.time < insert.excluded.time,
        )
        seen: dict[str, datetime] = {}
        for row in newest.values():
            if row.endpoint not in seen or row.time > seen[row.endpoint]:
                seen[row.endpoint] = row.time
        # One batched statement (SQLAlchemy's insertmanyvalues): a row comes back only where the newer-only rule
        # let it in. One statement per row cost a database round trip each and capped ingest at ~2,500 values/s.
        with self._db.transaction(write=True) as conn:
            changed = len(conn.execute(upsert.returning(last_value.c.path), params).all())
            conn.execute(_TOUCH, [{"n": name, "at": at} for name, at in sorted(seen.items())])
        return changed

    def last_values(self, endpoint_name: str, path_prefix: str | None = None) -> list[LastValue]:
        """Last values of an endpoint, optionally only those at or below ``path_prefix``, ordered by path."""
        query = sa.select(last_value).where(last_value.c.endpoint == endpoint_name).order_by(last_value.c.path)
        if path_prefix:
            query = query.where(path_under(last_value.c.path, path_prefix))
        with self._db.transaction() as conn:
            rows = conn.execute(query).all()
        return [
            LastValue(
                endpoint=r.endpoint,
                path=r.path,
                time=r.time,
                value=decode_value(r.type, r.value_num, r.value_text),
                type=ValueType(r.type),
            )
            for r in rows
        ]

    # ------------------------------------------------------------------------------------------------- reading
    def get_endpoint(self, name: str) -> EndpointRecord | None:
        """The endpoint's record, or ``None`` if unknown."""
        found = self._select_endpoints(sa.and_(endpoint.c.name == name), limit=1)
        return found[0] if found else None

    def list_endpoints(
        self,
        *,
        prefix: str | None = None,
        online: bool | None = None,
        after: str | None = None,
        limit: int = 1000,
    ) -> list[EndpointRecord]:
        """Endpoints ordered by name.

        Args:
            prefix: only names starting with this (e.g. ``goflex-dc-``).
            online: only online (``True``) or offline (``False``) endpoints.
            after: only names after this one (page through with the last name of the previous page).
            limit: at most this many.
        """
        conditions: list[sa.ColumnElement[bool]] = []
        if prefix:
            conditions.append(endpoint.c.name.like(escape_like(prefix) + "%", escape="\\"))
        if online is not None:
            conditions.append(endpoint.c.online == online)
        if after is not None:
            conditions.append(endpoint.c.name > after)
        return self._select_endpoints(sa.and_(sa.true(), *conditions), limit=limit)

    def _select_endpoints(self, where: sa.ColumnElement[bool], *, limit: int) -> list[EndpointRecord]:
        query = (
            sa.select(endpoint, principal.c.name.label("owner_name"))
            .select_from(endpoint.outerjoin(principal, principal.c.id == endpoint.c.owner_id))
            .where(where)
            .order_by(endpoint.c.name)
            .limit(limit)
        )
        with self._db.transaction() as conn:
            rows = conn.execute(query).all()
        return [
            EndpointRecord(
                name=r.name,
                created_at=r.created_at,
                owner=r.owner_name,
                banned=bool(r.banned),
                model_json=r.model_json,
                model_at=r.model_at,
                online=bool(r.online),
                since=r.online_since,
                last_seen=r.last_seen,
            )
            for r in rows
        ]
