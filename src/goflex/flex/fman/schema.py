"""FMAN's own tables (prefix ``fman_``) on their own MetaData; migrations in :mod:`goflex.flex.fman.migrations`.

* ``fman_agent``: FOAs and the operator (token stored as an argon2 hash, never the token), last heartbeat;
* ``fman_offer``: every FlexOffer received, its state, reason, schedule, bid, and its accounting figures;
* ``fman_idempotency``: responses of creating POSTs by (agent, ``Idempotency-Key``);
* ``fman_delivery``: the schedule or rejection of each offer for its agent, until the agent acks it;
* ``fman_bid``: bids at FMAR (the sell order id, the aggregate they were built from, their state, and FMAR's
  settlement once FMAN has forwarded the metering).

Times are aware UTC datetimes (:class:`goflex.store.schema.UtcTime`); JSON documents are stored as text.
"""

from __future__ import annotations

import sqlalchemy as sa

from goflex.store.schema import NAME_LENGTH, UtcTime

metadata = sa.MetaData()
VERSION_TABLE = "fman_alembic_version"
_DOUBLE = sa.Float(precision=53)

agent = sa.Table(
    "fman_agent",
    metadata,
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

offer = sa.Table(
    "fman_offer",
    metadata,
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
    sa.Index("ix_fman_offer_prosumer", "prosumer_id"),
    sa.Index("ix_fman_offer_state", "state"),
)

idempotency = sa.Table(
    "fman_idempotency",
    metadata,
    sa.Column("agent_id", sa.String(NAME_LENGTH), primary_key=True),
    sa.Column("key", sa.String(NAME_LENGTH), primary_key=True),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("response_json", sa.Text, nullable=False),
    sa.Column("created_at", UtcTime(), nullable=False),
)

delivery = sa.Table(
    "fman_delivery",
    metadata,
    sa.Column("offer_id", sa.String(NAME_LENGTH), primary_key=True),
    sa.Column("agent_id", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("schedule_json", sa.Text, nullable=True),
    sa.Column("reason", sa.String(64), nullable=True),
    sa.Column("created_at", UtcTime(), nullable=False),
    sa.Column("acked_at", UtcTime(), nullable=True),
    sa.Index("ix_fman_delivery_agent", "agent_id", "acked_at"),
)

bid = sa.Table(
    "fman_bid",
    metadata,
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
    sa.Column("settlement_json", sa.Text, nullable=True),
    sa.Column("created_at", UtcTime(), nullable=False),
    sa.Column("updated_at", UtcTime(), nullable=False),
    sa.Index("ix_fman_bid_state", "state"),
    sa.Index("ix_fman_bid_order", "order_id"),
)
