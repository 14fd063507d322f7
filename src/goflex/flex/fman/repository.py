"""FMAN's storage: its ``fman_`` tables through SQLAlchemy Core, in transactions of a goflex :class:`Database`.

Use :meth:`FmanStore.read` / :meth:`FmanStore.write` to get a :class:`Tx` whose methods run inside one
transaction (store errors: :mod:`goflex.store.errors`). FlexOffers, schedules and aggregates are kept as their
User Group JSON, so a restart rebuilds exactly what was held (:mod:`goflex.flex.json_codec`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any, Final

import sqlalchemy as sa
from alembic.config import Config
from sqlalchemy.engine import Connection

from goflex.flex.aggregation import Aggregate
from goflex.flex.fman import schema
from goflex.flex.fman.market_client import MarketSettlement
from goflex.flex.json_codec import dump_offer, dump_schedule, parse_offer, parse_schedule
from goflex.flex.model import FlexOffer, Schedule
from goflex.store.database import Database

# Arbitrary constant, distinct from the store's: serialises concurrent FMAN migrations on PostgreSQL.
MIGRATION_LOCK_KEY: Final = 0x60F1E6


def migrate(db: Database) -> None:
    """Upgrade FMAN's tables to the newest revision (idempotent; safe when processes start together)."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("goflex.flex.fman") / "migrations"))
    db.migrate(config)


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """An FOA (role ``agent``) or the operator (role ``operator``)."""

    id: str
    role: str
    token_hash: str
    callback_url: str | None = None
    prosumers: tuple[str, ...] = ()


@dataclass(slots=True)
class OfferRecord:
    """A FlexOffer received from an agent, with its state and accounting figures [kWh, EUR]."""

    id: str
    agent_id: str
    prosumer_id: str
    state: str
    offer: FlexOffer
    reason: str | None = None
    message: str | None = None
    schedule: Schedule | None = None
    bid_id: str | None = None
    offered_kwh: float = 0.0
    scheduled_flex_kwh: float = 0.0
    payment_share_eur: float = 0.0
    metered: dict[int, float] = field(default_factory=dict)
    delivered_flex_kwh: float = 0.0
    remuneration_eur: float = 0.0


@dataclass(slots=True)
class BidRecord:
    """A bid at FMAR: the FlexOffer sent, the aggregate it was built from, the sell order id once known.

    States: ``pending`` (stored, not yet confirmed by FMAR), ``open``, ``locked`` (FMAR refused to revoke or
    update it: matched, its members wait for the schedule), ``scheduled``, ``settled`` (its metering went to FMAR;
    ``settlement`` is FMAR's answer), ``settlement_failed`` (FMAR refused the metering), ``rejected``,
    ``revoked``.
    """

    id: str
    state: str
    version: int
    aggregate: Aggregate
    bid: FlexOffer
    location_id: str | None = None
    order_id: str | None = None
    schedule: Schedule | None = None
    reason: str | None = None
    payment_eur: float | None = None
    settlement: MarketSettlement | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """A member's schedule (or rejection reason) waiting for its agent's ack."""

    offer_id: str
    agent_id: str
    schedule: Schedule | None
    reason: str | None


def dump_aggregate(agg: Aggregate) -> str:
    """An aggregate with its members and offsets as JSON text."""
    return json.dumps(
        {
            "aggregate": dump_offer(agg.offer),
            "members": [dump_offer(m) for m in agg.members],
            "offsets": list(agg.offsets),
        }
    )


def load_aggregate(text: str) -> Aggregate:
    """Read :func:`dump_aggregate`'s text."""
    value = json.loads(text)
    return Aggregate(
        parse_offer(value["aggregate"]),
        tuple(parse_offer(m) for m in value["members"]),
        tuple(int(o) for o in value["offsets"]),
    )


def _schedule_text(schedule: Schedule | None) -> str | None:
    return None if schedule is None else json.dumps(dump_schedule(schedule))


def _schedule(text: str | None) -> Schedule | None:
    return None if text is None else parse_schedule(json.loads(text))


class Tx:
    """FMAN's queries inside one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------------------------------------------ agents
    def add_agent(self, record: AgentRecord, now: datetime) -> None:
        """Insert an agent (raises :class:`goflex.store.errors.Conflict` when the id exists)."""
        self.conn.execute(
            schema.agent.insert().values(
                id=record.id,
                role=record.role,
                token_hash=record.token_hash,
                callback_url=record.callback_url,
                prosumers_json=json.dumps(list(record.prosumers)),
                created_at=now,
            )
        )

    def agent(self, agent_id: str) -> AgentRecord | None:
        """The agent with this id."""
        row = self.conn.execute(sa.select(schema.agent).where(schema.agent.c.id == agent_id)).mappings().first()
        if row is None:
            return None
        prosumers = tuple(json.loads(row["prosumers_json"]))
        return AgentRecord(row["id"], row["role"], row["token_hash"], row["callback_url"], prosumers)

    def has_role(self, role: str) -> bool:
        """Whether any principal has ``role``."""
        query = sa.select(sa.func.count()).select_from(schema.agent).where(schema.agent.c.role == role)
        return bool(self.conn.execute(query).scalar_one())

    def record_heartbeat(self, agent_id: str, state: str, power_w: float | None, now: datetime) -> None:
        """Remember the agent's last heartbeat."""
        self.conn.execute(
            schema.agent.update()
            .where(schema.agent.c.id == agent_id)
            .values(last_heartbeat_at=now, last_state=state, last_power_w=power_w)
        )

    # ------------------------------------------------------------------------------------------------ offers
    def _offer_values(self, r: OfferRecord, now: datetime) -> dict[str, Any]:
        return {
            "agent_id": r.agent_id,
            "prosumer_id": r.prosumer_id,
            "state": r.state,
            "reason": r.reason,
            "message": r.message,
            "offer_json": json.dumps(dump_offer(r.offer)),
            "schedule_json": _schedule_text(r.schedule),
            "bid_id": r.bid_id,
            "updated_at": now,
            "offered_kwh": r.offered_kwh,
            "scheduled_flex_kwh": r.scheduled_flex_kwh,
            "payment_share_eur": r.payment_share_eur,
            "metered_json": json.dumps({str(k): v for k, v in r.metered.items()}) if r.metered else None,
            "delivered_flex_kwh": r.delivered_flex_kwh,
            "remuneration_eur": r.remuneration_eur,
        }

    def insert_offer(self, record: OfferRecord, now: datetime) -> None:
        """Insert a new offer (Conflict when the id exists)."""
        self.conn.execute(schema.offer.insert().values(id=record.id, created_at=now, **self._offer_values(record, now)))

    def save_offer(self, record: OfferRecord, now: datetime) -> None:
        """Write every mutable column of an existing offer."""
        values = self._offer_values(record, now)
        self.conn.execute(schema.offer.update().where(schema.offer.c.id == record.id).values(**values))

    @staticmethod
    def _offer(row: Any) -> OfferRecord:
        metered = {int(k): float(v) for k, v in json.loads(row["metered_json"]).items()} if row["metered_json"] else {}
        return OfferRecord(
            id=row["id"],
            agent_id=row["agent_id"],
            prosumer_id=row["prosumer_id"],
            state=row["state"],
            offer=parse_offer(json.loads(row["offer_json"])),
            reason=row["reason"],
            message=row["message"],
            schedule=_schedule(row["schedule_json"]),
            bid_id=row["bid_id"],
            offered_kwh=row["offered_kwh"],
            scheduled_flex_kwh=row["scheduled_flex_kwh"],
            payment_share_eur=row["payment_share_eur"],
            metered=metered,
            delivered_flex_kwh=row["delivered_flex_kwh"],
            remuneration_eur=row["remuneration_eur"],
        )

    def offer(self, offer_id: str) -> OfferRecord | None:
        """The offer with this id."""
        row = self.conn.execute(sa.select(schema.offer).where(schema.offer.c.id == offer_id)).mappings().first()
        return None if row is None else self._offer(row)

    def offers(self, *, states: Iterable[str] = (), ids: Iterable[str] = ()) -> list[OfferRecord]:
        """Offers in any of ``states`` or with any of ``ids``, by id."""
        states, ids = list(states), list(ids)
        query = sa.select(schema.offer).where(sa.or_(schema.offer.c.state.in_(states), schema.offer.c.id.in_(ids)))
        return [self._offer(r) for r in self.conn.execute(query.order_by(schema.offer.c.id)).mappings()]

    def account_rows(self, prosumer_id: str) -> list[tuple[float, float, float, float]]:
        """Per offer of the prosumer: offered, scheduled flex, delivered flex [kWh], remuneration [EUR]."""
        o = schema.offer.c
        query = sa.select(o.offered_kwh, o.scheduled_flex_kwh, o.delivered_flex_kwh, o.remuneration_eur).where(
            o.prosumer_id == prosumer_id, o.state.in_(("accepted", "assigned", "executed", "rejected"))
        )
        return [(r[0], r[1], r[2], r[3]) for r in self.conn.execute(query)]

    def represents(self, agent_id: str, prosumer_id: str) -> bool:
        """Whether the agent has sent an offer of this prosumer."""
        o = schema.offer.c
        query = sa.select(o.id).where(o.agent_id == agent_id, o.prosumer_id == prosumer_id).limit(1)
        return self.conn.execute(query).first() is not None

    # ------------------------------------------------------------------------------------------- idempotency
    def idempotent(self, agent_id: str, key: str) -> tuple[str, int, Any] | None:
        """``(request hash, status, response)`` stored for the key, if any."""
        t = schema.idempotency
        row = self.conn.execute(sa.select(t).where(t.c.agent_id == agent_id, t.c.key == key)).mappings().first()
        return None if row is None else (row["request_sha256"], row["status"], json.loads(row["response_json"]))

    def remember(self, agent_id: str, key: str, *, digest: str, status: int, response: Any, now: datetime) -> None:
        """Store the response to a creating POST under its key."""
        self.conn.execute(
            schema.idempotency.insert().values(
                agent_id=agent_id,
                key=key,
                request_sha256=digest,
                status=status,
                response_json=json.dumps(response),
                created_at=now,
            )
        )

    # -------------------------------------------------------------------------------------------- deliveries
    def deliver(
        self, offer_id: str, agent_id: str, schedule: Schedule | None, reason: str | None, now: datetime
    ) -> None:
        """Queue a schedule (or a rejection) for the agent, replacing an earlier one of the same offer."""
        self.conn.execute(schema.delivery.delete().where(schema.delivery.c.offer_id == offer_id))
        self.conn.execute(
            schema.delivery.insert().values(
                offer_id=offer_id,
                agent_id=agent_id,
                schedule_json=_schedule_text(schedule),
                reason=reason,
                created_at=now,
            )
        )

    def pending_deliveries(self, agent_id: str) -> list[DeliveryRecord]:
        """The agent's deliveries not yet acked, oldest first."""
        d = schema.delivery.c
        query = sa.select(schema.delivery).where(d.agent_id == agent_id, d.acked_at.is_(None))
        rows = self.conn.execute(query.order_by(d.created_at, d.offer_id)).mappings()
        return [DeliveryRecord(r["offer_id"], r["agent_id"], _schedule(r["schedule_json"]), r["reason"]) for r in rows]

    def ack(self, agent_id: str, offer_ids: Sequence[str], now: datetime) -> int:
        """Mark the agent's deliveries of these offers acked; returns how many were pending."""
        if not offer_ids:
            return 0
        d = schema.delivery.c
        result = self.conn.execute(
            schema.delivery.update()
            .where(d.agent_id == agent_id, d.offer_id.in_(list(offer_ids)), d.acked_at.is_(None))
            .values(acked_at=now)
        )
        return int(result.rowcount)

    # -------------------------------------------------------------------------------------------------- bids
    def save_bid(self, r: BidRecord, now: datetime) -> None:
        """Insert or update a bid."""
        values = {
            "order_id": r.order_id,
            "state": r.state,
            "version": r.version,
            "location_id": r.location_id,
            "aggregate_json": dump_aggregate(r.aggregate),
            "bid_json": json.dumps(dump_offer(r.bid)),
            "schedule_json": _schedule_text(r.schedule),
            "reason": r.reason,
            "payment_eur": r.payment_eur,
            "settlement_json": None if r.settlement is None else r.settlement.to_json(),
            "updated_at": now,
        }
        result = self.conn.execute(schema.bid.update().where(schema.bid.c.id == r.id).values(**values))
        if result.rowcount == 0:
            self.conn.execute(schema.bid.insert().values(id=r.id, created_at=now, **values))

    @staticmethod
    def _bid(row: Any) -> BidRecord:
        return BidRecord(
            id=row["id"],
            state=row["state"],
            version=row["version"],
            aggregate=load_aggregate(row["aggregate_json"]),
            bid=parse_offer(json.loads(row["bid_json"])),
            location_id=row["location_id"],
            order_id=row["order_id"],
            schedule=_schedule(row["schedule_json"]),
            reason=row["reason"],
            payment_eur=row["payment_eur"],
            settlement=MarketSettlement.from_json(row["settlement_json"]) if row["settlement_json"] else None,
        )

    def bids(self, states: Iterable[str]) -> list[BidRecord]:
        """Bids in any of ``states``, by id."""
        query = sa.select(schema.bid).where(schema.bid.c.state.in_(list(states))).order_by(schema.bid.c.id)
        return [self._bid(r) for r in self.conn.execute(query).mappings()]

    def bid(self, bid_id: str) -> BidRecord | None:
        """The bid with this id."""
        row = self.conn.execute(sa.select(schema.bid).where(schema.bid.c.id == bid_id)).mappings().first()
        return None if row is None else self._bid(row)

    def bid_by_order(self, order_id: str) -> BidRecord | None:
        """The bid FMAR knows as sell order ``order_id``."""
        row = self.conn.execute(sa.select(schema.bid).where(schema.bid.c.order_id == order_id)).mappings().first()
        return None if row is None else self._bid(row)


class FmanStore:
    """FMAN's tables in a goflex database (migrate first with :func:`migrate`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A read transaction."""
        with self.db.transaction() as conn:
            yield Tx(conn)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction (committed when the block ends without error)."""
        with self.db.transaction(write=True) as conn:
            yield Tx(conn)
