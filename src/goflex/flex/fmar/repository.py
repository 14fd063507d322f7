"""The market's storage: migrations of its own tables and the queries the service runs (SQLite and PostgreSQL).

Every method takes the connection of the caller's transaction (:meth:`MarketRepository.transaction`), so one
order, its events, its contracts and its idempotency record are committed together or not at all. Driver errors
are translated by :func:`goflex.store.database.translate_errors` (through ``Database.transaction``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, Final

import sqlalchemy as sa
from alembic.config import Config

from goflex.flex.fmar import schema as t
from goflex.store.database import Database

# Arbitrary, distinct from the platform's key: serialises concurrent market migrations on PostgreSQL.
MIGRATION_LOCK_KEY: Final = 0x60F1E6


@dataclass(frozen=True, slots=True)
class Participant:
    """A market participant (the token's hash is never part of it)."""

    id: str
    name: str
    roles: frozenset[str]
    locations: tuple[str, ...]
    callback_url: str | None

    def wire(self) -> dict[str, Any]:
        """The participant as the API shows it."""
        return {
            "id": self.id,
            "name": self.name,
            "roles": sorted(self.roles),
            "locations": list(self.locations),
            "callbackUrl": self.callback_url,
        }


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One stored order."""

    id: str
    side: str
    participant_id: str
    status: str
    reason: str
    message: str
    flex_offer_id: str | None
    location_id: str | None
    body: dict[str, Any]
    priority: int
    start_slot: int | None
    schedule: dict[str, Any] | None
    deadline: datetime | None
    created_at: datetime


def market_alembic_config() -> Config:
    """Alembic configuration of the market's migrations (shipped inside the package)."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("goflex.flex.fmar") / "migrations"))
    return config


def migrate_market(db: Database) -> None:
    """Create or upgrade the market's tables (idempotent; safe when processes start together)."""
    db.migrate(market_alembic_config())


def _participant(row: sa.Row[Any]) -> Participant:
    return Participant(
        id=row.id,
        name=row.name,
        roles=frozenset(r for r in row.roles.split(",") if r),
        locations=tuple(json.loads(row.locations)),
        callback_url=row.callback_url,
    )


def _order(row: sa.Row[Any]) -> OrderRow:
    return OrderRow(
        id=row.id,
        side=row.side,
        participant_id=row.participant_id,
        status=row.status,
        reason=row.reason,
        message=row.message,
        flex_offer_id=row.flex_offer_id,
        location_id=row.location_id,
        body=json.loads(row.body),
        priority=int(row.priority),
        start_slot=None if row.start_slot is None else int(row.start_slot),
        schedule=None if row.schedule is None else json.loads(row.schedule),
        deadline=row.deadline,
        created_at=row.created_at,
    )


class MarketRepository:
    """Queries over the ``fmar_`` tables of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[sa.Connection]:
        """One transaction (see :meth:`goflex.store.database.Database.transaction`)."""
        with self.db.transaction(write=write) as conn:
            yield conn

    # ------------------------------------------------------------------------------------------- participants
    @staticmethod
    def add_participant(
        conn: sa.Connection, participant: Participant, *, token_id: str, token_hash: str, now: datetime
    ) -> None:
        """Store a participant (raises ``Conflict`` when the id exists)."""
        conn.execute(
            t.participant.insert().values(
                id=participant.id,
                name=participant.name,
                roles=",".join(sorted(participant.roles)),
                locations=json.dumps(list(participant.locations)),
                callback_url=participant.callback_url,
                token_id=token_id,
                token_hash=token_hash,
                created_at=now,
            )
        )

    @staticmethod
    def participant(conn: sa.Connection, participant_id: str) -> Participant | None:
        """The participant ``participant_id``, if any."""
        row = conn.execute(sa.select(t.participant).where(t.participant.c.id == participant_id)).first()
        return None if row is None else _participant(row)

    @staticmethod
    def credentials(conn: sa.Connection, token_id: str) -> tuple[str, str] | None:
        """(participant id, token hash) for a token id, if any."""
        row = conn.execute(
            sa.select(t.participant.c.id, t.participant.c.token_hash).where(t.participant.c.token_id == token_id)
        ).first()
        return None if row is None else (row.id, row.token_hash)

    @staticmethod
    def participant_count(conn: sa.Connection) -> int:
        """How many participants exist."""
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.participant)).scalar_one())

    # ---------------------------------------------------------------------------------------------- orders
    @staticmethod
    def insert_order(conn: sa.Connection, row: OrderRow, *, now: datetime) -> None:
        """Store a new order and its first event."""
        conn.execute(
            t.order.insert().values(
                id=row.id,
                side=row.side,
                participant_id=row.participant_id,
                status=row.status,
                reason=row.reason,
                message=row.message,
                flex_offer_id=row.flex_offer_id,
                location_id=row.location_id,
                body=json.dumps(row.body),
                priority=row.priority,
                start_slot=row.start_slot,
                schedule=None,
                deadline=row.deadline,
                created_at=now,
                updated_at=now,
            )
        )
        MarketRepository.add_event(conn, row.id, row.status, row.reason, now)

    @staticmethod
    def add_event(conn: sa.Connection, order_id: str, status: str, reason: str, now: datetime) -> None:
        """Append one lifecycle event."""
        conn.execute(t.order_event.insert().values(order_id=order_id, time=now, status=status, reason=reason))

    @staticmethod
    def set_status(conn: sa.Connection, order_id: str, status: str, reason: str, now: datetime, **values: Any) -> None:
        """Change an order's status (and other columns: ``body``, ``schedule`` as dicts, ``start_slot`` ...)."""
        for name in ("body", "schedule"):
            if name in values and values[name] is not None:
                values[name] = json.dumps(values[name])
        conn.execute(
            t.order.update()
            .where(t.order.c.id == order_id)
            .values(status=status, reason=reason, updated_at=now, **values)
        )
        MarketRepository.add_event(conn, order_id, status, reason, now)

    @staticmethod
    def order(conn: sa.Connection, order_id: str) -> OrderRow | None:
        """The order ``order_id``, if any."""
        row = conn.execute(sa.select(t.order).where(t.order.c.id == order_id)).first()
        return None if row is None else _order(row)

    @staticmethod
    def orders_with_status(conn: sa.Connection, statuses: Sequence[str]) -> list[OrderRow]:
        """Orders in one of ``statuses``, oldest first."""
        query = sa.select(t.order).where(t.order.c.status.in_(list(statuses))).order_by(t.order.c.priority)
        return [_order(r) for r in conn.execute(query)]

    @staticmethod
    def max_priority(conn: sa.Connection) -> int:
        """The highest order priority stored (0 when none)."""
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(t.order.c.priority), 0))).scalar_one())

    @staticmethod
    def events(conn: sa.Connection, order_id: str) -> list[dict[str, Any]]:
        """The order's lifecycle events, oldest first (times as datetimes)."""
        query = sa.select(t.order_event).where(t.order_event.c.order_id == order_id).order_by(t.order_event.c.id)
        return [{"time": r.time, "status": r.status, "reason": r.reason} for r in conn.execute(query)]

    # ------------------------------------------------------------------------------------------- contracts
    @staticmethod
    def insert_contracts(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Store contracts (dicts with the ``fmar_contract`` columns)."""
        if rows:
            conn.execute(t.contract.insert(), list(rows))

    @staticmethod
    def contracts(
        conn: sa.Connection,
        *,
        order_ids: Sequence[str] | None = None,
        participant_id: str | None = None,
        since: datetime | None = None,
    ) -> list[sa.Row[Any]]:
        """Contracts filtered by order (either side), participant (either side) and time, oldest first."""
        c = t.contract.c
        query = sa.select(t.contract).order_by(c.time, c.id)
        if order_ids is not None:
            ids = list(order_ids)
            query = query.where(sa.or_(c.buy_order_id.in_(ids), c.sell_order_id.in_(ids)))
        if participant_id is not None:
            query = query.where(sa.or_(c.buyer_id == participant_id, c.seller_id == participant_id))
        if since is not None:
            query = query.where(c.time >= since)
        return list(conn.execute(query))

    # ------------------------------------------------------------------------------------------ deliveries
    @staticmethod
    def add_delivery(
        conn: sa.Connection, order_id: str, seller_id: str, *, kind: str, payload: dict[str, Any], now: datetime
    ) -> None:
        """Store a schedule or rejection for the seller to pull."""
        conn.execute(
            t.delivery.insert().values(
                order_id=order_id, seller_id=seller_id, kind=kind, payload=json.dumps(payload), created_at=now
            )
        )

    @staticmethod
    def ack_deliveries(conn: sa.Connection, seller_id: str, order_ids: Sequence[str], now: datetime) -> None:
        """Mark the seller's deliveries for ``order_ids`` as taken."""
        if order_ids:
            d = t.delivery.c
            conn.execute(
                t.delivery.update()
                .where(d.seller_id == seller_id, d.order_id.in_(list(order_ids)), d.acked_at.is_(None))
                .values(acked_at=now)
            )

    @staticmethod
    def pending_deliveries(conn: sa.Connection, seller_id: str) -> list[tuple[str, dict[str, Any]]]:
        """(kind, payload) of the seller's deliveries not yet acknowledged, oldest first."""
        d = t.delivery.c
        query = (
            sa.select(d.kind, d.payload)
            .where(d.seller_id == seller_id, d.acked_at.is_(None))
            .order_by(d.created_at, d.order_id)
        )
        return [(r.kind, json.loads(r.payload)) for r in conn.execute(query)]

    # ----------------------------------------------------------------------------------------- settlements
    @staticmethod
    def add_settlement(conn: sa.Connection, order_id: str, result: dict[str, Any], now: datetime) -> None:
        """Store a bid's settlement."""
        conn.execute(t.settlement.insert().values(order_id=order_id, time=now, result=json.dumps(result)))

    @staticmethod
    def settlements(conn: sa.Connection, order_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Stored settlements (optionally of ``order_ids``), oldest first."""
        query = sa.select(t.settlement).order_by(t.settlement.c.time)
        if order_ids is not None:
            query = query.where(t.settlement.c.order_id.in_(list(order_ids)))
        return [json.loads(r.result) for r in conn.execute(query)]

    @staticmethod
    def order_ids_of(conn: sa.Connection, participant_id: str) -> list[str]:
        """Ids of every order of ``participant_id``."""
        query = sa.select(t.order.c.id).where(t.order.c.participant_id == participant_id)
        return [r.id for r in conn.execute(query)]

    # ----------------------------------------------------------------------------------------- idempotency
    @staticmethod
    def idempotent_response(
        conn: sa.Connection, participant_id: str, key: str
    ) -> tuple[str, int, dict[str, Any]] | None:
        """(request hash, status code, response) stored for the participant's key, if any."""
        i = t.idempotency.c
        row = conn.execute(
            sa.select(i.request_hash, i.status_code, i.response).where(i.participant_id == participant_id, i.key == key)
        ).first()
        return None if row is None else (row.request_hash, int(row.status_code), json.loads(row.response))

    @staticmethod
    def store_response(
        conn: sa.Connection,
        participant_id: str,
        key: str,
        *,
        request_hash: str,
        status_code: int,
        response: dict[str, Any],
        now: datetime,
    ) -> None:
        """Remember the response given to the participant's key."""
        conn.execute(
            t.idempotency.insert().values(
                participant_id=participant_id,
                key=key,
                request_hash=request_hash,
                status_code=status_code,
                response=json.dumps(response),
                created_at=now,
            )
        )
