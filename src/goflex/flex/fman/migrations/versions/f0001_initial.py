"""FMAN initial schema: agents, offers, idempotency keys, deliveries, bids.

Revision ID: f0001
Revises:
Create Date: 2026-05-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from goflex.store.schema import NAME_LENGTH, UtcTime

revision = "f0001"
down_revision = None
branch_labels = None
depends_on = None

_DOUBLE = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "fman_agent",
        sa.Column("id", sa.String(NAME_LENGTH), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("callback_url", sa.Text, nullable=True),
        sa.Column("prosumers_json", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", UtcTime(), nullable=False),
        sa.Column("last_heartbeat_at", UtcTime(), nullable=True),
        sa.Column("last_state", sa.String(64), nullable=True),
        sa.Column("last_power_w", _DOUBLE, nullable=True),
    )
    op.create_table(
        "fman_offer",
        sa.Column("id", sa.String(NAME_LENGTH), primary_key=True),
        sa.Column("agent_id", sa.String(NAME_LENGTH), sa.ForeignKey("fman_agent.id"), nullable=False),
        sa.Column("prosumer_id", sa.String(NAME_LENGTH), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("offer_json", sa.Text, nullable=False),
        sa.Column("schedule_json", sa.Text, nullable=True),
        sa.Column("bid_id", sa.String(NAME_LENGTH), nullable=True),
        sa.Column("created_at", UtcTime(), nullable=False),
        sa.Column("updated_at", UtcTime(), nullable=False),
        sa.Column("offered_kwh", _DOUBLE, nullable=False, server_default="0"),
        sa.Column("scheduled_flex_kwh", _DOUBLE, nullable=False, server_default="0"),
        sa.Column("payment_share_eur", _DOUBLE, nullable=False, server_default="0"),
        sa.Column("metered_json", sa.Text, nullable=True),
        sa.Column("delivered_flex_kwh", _DOUBLE, nullable=False, server_default="0"),
        sa.Column("remuneration_eur", _DOUBLE, nullable=False, server_default="0"),
    )
    op.create_index("ix_fman_offer_prosumer", "fman_offer", ["prosumer_id"])
    op.create_index("ix_fman_offer_state", "fman_offer", ["state"])
    op.create_table(
        "fman_idempotency",
        sa.Column("agent_id", sa.String(NAME_LENGTH), primary_key=True),
        sa.Column("key", sa.String(NAME_LENGTH), primary_key=True),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("response_json", sa.Text, nullable=False),
        sa.Column("created_at", UtcTime(), nullable=False),
    )
    op.create_table(
        "fman_delivery",
        sa.Column("offer_id", sa.String(NAME_LENGTH), primary_key=True),
        sa.Column("agent_id", sa.String(NAME_LENGTH), nullable=False),
        sa.Column("schedule_json", sa.Text, nullable=True),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("created_at", UtcTime(), nullable=False),
        sa.Column("acked_at", UtcTime(), nullable=True),
    )
    op.create_index("ix_fman_delivery_agent", "fman_delivery", ["agent_id", "acked_at"])
    op.create_table(
        "fman_bid",
        sa.Column("id", sa.String(NAME_LENGTH), primary_key=True),
        sa.Column("order_id", sa.String(NAME_LENGTH), nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("location_id", sa.String(NAME_LENGTH), nullable=True),
        sa.Column("aggregate_json", sa.Text, nullable=False),
        sa.Column("bid_json", sa.Text, nullable=False),
        sa.Column("schedule_json", sa.Text, nullable=True),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("payment_eur", _DOUBLE, nullable=True),
        sa.Column("created_at", UtcTime(), nullable=False),
        sa.Column("updated_at", UtcTime(), nullable=False),
    )
    op.create_index("ix_fman_bid_state", "fman_bid", ["state"])
    op.create_index("ix_fman_bid_order", "fman_bid", ["order_id"])


def downgrade() -> None:
    for table in ("fman_bid", "fman_delivery", "fman_idempotency", "fman_offer", "fman_agent"):
        op.drop_table(table)
