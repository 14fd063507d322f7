"""The market's tables: participants, orders and their events, contracts, deliveries, settlements, idempotency.

Revision ID: f0001
Revises:
Create Date: 2026-05-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from goflex.store.schema import NAME_LENGTH, UtcTime

revision = "f0001"
down_revision = None
branch_labels = None
depends_on = None

ID_LENGTH = 128
_DOUBLE = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "fmar_participant",
        sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
        sa.Column("name", sa.String(NAME_LENGTH), nullable=False),
        sa.Column("roles", sa.String(64), nullable=False),
        sa.Column("locations", sa.Text, nullable=False),
        sa.Column("callback_url", sa.Text, nullable=True),
        sa.Column("token_id", sa.String(64), nullable=False, unique=True),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("created_at", UtcTime(), nullable=False),
    )

    op.create_table(
        "fmar_order",
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

    op.create_table(
        "fmar_order_event",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(ID_LENGTH), sa.ForeignKey("fmar_order.id"), nullable=False, index=True),
        sa.Column("time", UtcTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
    )

    op.create_table(
        "fmar_contract",
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

    op.create_table(
        "fmar_delivery",
        sa.Column("order_id", sa.String(ID_LENGTH), sa.ForeignKey("fmar_order.id"), primary_key=True),
        sa.Column("seller_id", sa.String(ID_LENGTH), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", UtcTime(), nullable=False),
        sa.Column("acked_at", UtcTime(), nullable=True),
    )

    op.create_table(
        "fmar_settlement",
        sa.Column("order_id", sa.String(ID_LENGTH), sa.ForeignKey("fmar_order.id"), primary_key=True),
        sa.Column("time", UtcTime(), nullable=False),
        sa.Column("result", sa.Text, nullable=False),
    )

    op.create_table(
        "fmar_idempotency",
        sa.Column("participant_id", sa.String(ID_LENGTH), primary_key=True),
        sa.Column("key", sa.String(NAME_LENGTH), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_at", UtcTime(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "fmar_idempotency",
        "fmar_settlement",
        "fmar_delivery",
        "fmar_contract",
        "fmar_order_event",
        "fmar_order",
        "fmar_participant",
    ):
        op.drop_table(table)
