"""The market's own tables (prefix ``fmar_``), as SQLAlchemy Core on their own MetaData (SQLite and PostgreSQL).

Created by the market's Alembic migrations (:mod:`goflex.flex.fmar.migrations`, version table
``fmar_alembic_version``), so the market can share a database with the platform or have one of its own.

* ``fmar_participant``: id, roles, locations, callback URL, token id and argon2 hash of the token's secret;
* ``fmar_order``: every order (sell bids and buy orders, rejected ones too) with its body, status and the
  bid's fixed start and schedule; ``fmar_order_event``: its lifecycle;
* ``fmar_contract``: one row per match (buy order, bid, slot, energy, price);
* ``fmar_delivery``: schedules and rejections for sellers, acknowledged or not;
* ``fmar_settlement``: the settlement of a bid; ``fmar_idempotency``: idempotency keys with the request's hash
  and the stored response.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

from goflex.store.schema import NAME_LENGTH, UtcTime

ID_LENGTH: Final = 128
_DOUBLE = sa.Float(precision=53)

metadata = sa.MetaData()

participant = sa.Table(
    "fmar_participant",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("name", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("roles", sa.String(64), nullable=False),
    sa.Column("locations", sa.Text, nullable=False),
    sa.Column("callback_url", sa.Text, nullable=True),
    sa.Column("token_id", sa.String(64), nullable=False, unique=True),
    sa.Column("token_hash", sa.Text, nullable=False),
    sa.Column("created_at", UtcTime(), nullable=False),
)

order = sa.Table(
    "fmar_order",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("side", sa.String(8), nullable=False),
    sa.Column("participant_id", sa.String(ID_LENGTH), sa.ForeignKey("fmar_participant.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("flex_offer_id", sa.String(NAME_LENGTH), nullable=True),
    sa.Column("location_id", sa.String(NAME_LENGTH), nullable=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("priority", sa.BigInteger, nullable=False),
    sa.Column("start_slot", sa.BigInteger, nullable=True),
    sa.Column("schedule", sa.Text, nullable=True),
    sa.Column("deadline", UtcTime(), nullable=True),
    sa.Column("created_at", UtcTime(), nullable=False),
    sa.Column("updated_at", UtcTime(), nullable=False),
    sa.Index("ix_fmar_order_status", "status"),
    sa.Index("ix_fmar_order_participant", "participant_id"),
)

order_event = sa.Table(
    "fmar_order_event",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(ID_LENGTH), sa.ForeignKey("fmar_order.id"), nullable=False, index=True),
    sa.Column("time", UtcTime(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
)

contract = sa.Table(
    "fmar_contract",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("time", UtcTime(), nullable=False, index=True),
    sa.Column("buy_order_id", sa.String(ID_LENGTH), sa.ForeignKey("fmar_order.id"), nullable=False, index=True),
    sa.Column("sell_order_id", sa.String(ID_LENGTH), sa.ForeignKey("fmar_order.id"), nullable=False, index=True),
    sa.Column("buyer_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("seller_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("slot_start", UtcTime(), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("energy_kwh", _DOUBLE, nullable=False),
    sa.Column("price_eur_per_kwh", _DOUBLE, nullable=False),
    sa.Column("slice_index", sa.Integer, nullable=False),
    sa.Column("start_slot", sa.BigInteger, nullable=False),
)

delivery = sa.Table(
    "fmar_delivery",
    metadata,
    sa.Column("order_id", sa.String(ID_LENGTH), sa.ForeignKey("fmar_order.id"), primary_key=True),
    sa.Column("seller_id", sa.String(ID_LENGTH), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", UtcTime(), nullable=False),
    sa.Column("acked_at", UtcTime(), nullable=True),
)

settlement = sa.Table(
    "fmar_settlement",
    metadata,
    sa.Column("order_id", sa.String(ID_LENGTH), sa.ForeignKey("fmar_order.id"), primary_key=True),
    sa.Column("time", UtcTime(), nullable=False),
    sa.Column("result", sa.Text, nullable=False),
)

idempotency = sa.Table(
    "fmar_idempotency",
    metadata,
    sa.Column("participant_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("key", sa.String(NAME_LENGTH), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response", sa.Text, nullable=False),
    sa.Column("created_at", UtcTime(), nullable=False),
)
