"""Initial schema: process, history, ingest ledger, dead letters, access rights.

Revision ID: v0001
Revises:
Create Date: 2026-05-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from goflex.store.schema import NAME_LENGTH, PATH_LENGTH, UtcTime

revision = "v0001"
down_revision = None
branch_labels = None
depends_on = None

_DOUBLE = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "principal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(NAME_LENGTH), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("application_kind", sa.String(64), nullable=True),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UtcTime(), nullable=False),
    )
    op.create_table(
        "endpoint",
        sa.Column("name", sa.String(NAME_LENGTH), primary_key=True),
        sa.Column("created_at", UtcTime(), nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("principal.id", ondelete="SET NULL"), nullable=True),
        sa.Column("banned", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("model_json", sa.Text, nullable=True),
        sa.Column("model_at", UtcTime(), nullable=True),
        sa.Column("online", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("online_since", UtcTime(), nullable=True),
        sa.Column("last_seen", UtcTime(), nullable=True),
    )
    op.create_table(
        "attribute",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.String(NAME_LENGTH), nullable=False),
        sa.Column("path", sa.String(PATH_LENGTH), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.UniqueConstraint("endpoint", "path", "type", name="uq_attribute_endpoint_path_type"),
    )
    op.create_table(
        "last_value",
        sa.Column("endpoint", sa.String(NAME_LENGTH), primary_key=True),
        sa.Column("path", sa.String(PATH_LENGTH), primary_key=True),
        sa.Column("time", UtcTime(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("value_num", _DOUBLE, nullable=True),
        sa.Column("value_text", sa.Text, nullable=True),
    )
    _create_history()
    op.create_table(
        "ingest_ledger",
        sa.Column("endpoint", sa.String(NAME_LENGTH), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("received_at", UtcTime(), nullable=False),
    )
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UtcTime(), nullable=False),
        sa.Column("endpoint", sa.String(NAME_LENGTH), nullable=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("payload_size", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_dead_letter_at", "dead_letter", ["at"])
    _create_rights()


def _create_history() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Partitioned by time (issue 2 section 5): old days can be detached or dropped cheaply, and a range query
        # touches only the partitions it needs. Daily partitions are created ahead by HistoryRepository; the
        # DEFAULT partition is a safety net for a value that arrives outside every partition.
        op.execute(
            """
            CREATE TABLE history (
                attribute_id integer NOT NULL,
                time timestamptz NOT NULL,
                value_num double precision,
                value_text text,
                quality smallint NOT NULL DEFAULT 0,
                seq bigint,
                item integer NOT NULL DEFAULT 0
            ) PARTITION BY RANGE (time)
            """
        )
        op.execute("CREATE TABLE history_default PARTITION OF history DEFAULT")
    else:
        op.create_table(
            "history",
            sa.Column("attribute_id", sa.Integer, nullable=False),
            sa.Column("time", UtcTime(), nullable=False),
            sa.Column("value_num", _DOUBLE, nullable=True),
            sa.Column("value_text", sa.Text, nullable=True),
            sa.Column("quality", sa.SmallInteger, nullable=False, server_default="0"),
            sa.Column("seq", sa.BigInteger, nullable=True),
            sa.Column("item", sa.Integer, nullable=False, server_default="0"),
        )
    op.create_index("ix_history_attribute_time", "history", ["attribute_id", "time"])


def _create_rights() -> None:
    op.create_table(
        "group_member",
        sa.Column("group_id", sa.Integer, sa.ForeignKey("principal.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("principal.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_group_member_member", "group_member", ["member_id"])
    op.create_table(
        "endpoint_group",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(NAME_LENGTH), nullable=False, unique=True),
    )
    op.create_table(
        "endpoint_group_member",
        sa.Column("group_id", sa.Integer, sa.ForeignKey("endpoint_group.id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "endpoint", sa.String(NAME_LENGTH), sa.ForeignKey("endpoint.name", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_index("ix_endpoint_group_member_endpoint", "endpoint_group_member", ["endpoint"])
    op.create_table(
        "endpoint_grant",
        sa.Column("principal_id", sa.Integer, sa.ForeignKey("principal.id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "endpoint", sa.String(NAME_LENGTH), sa.ForeignKey("endpoint.name", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("level", sa.SmallInteger, nullable=False),
    )
    op.create_index("ix_endpoint_grant_endpoint", "endpoint_grant", ["endpoint"])
    op.create_table(
        "endpoint_group_grant",
        sa.Column("principal_id", sa.Integer, sa.ForeignKey("principal.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("endpoint_group.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("level", sa.SmallInteger, nullable=False),
    )
    op.create_table(
        "element_grant",
        sa.Column("principal_id", sa.Integer, sa.ForeignKey("principal.id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "endpoint", sa.String(NAME_LENGTH), sa.ForeignKey("endpoint.name", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("path_prefix", sa.String(PATH_LENGTH), primary_key=True),
        sa.Column("level", sa.SmallInteger, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "element_grant",
        "endpoint_group_grant",
        "endpoint_grant",
        "endpoint_group_member",
        "endpoint_group",
        "group_member",
        "dead_letter",
        "ingest_ledger",
        "history",
        "last_value",
        "attribute",
        "endpoint",
        "principal",
    ):
        op.drop_table(table)
