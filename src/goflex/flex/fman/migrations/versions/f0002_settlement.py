"""FMAN: the market's settlement of each bid (FMAN forwards its members' metering to FMAR).

Revision ID: f0002
Revises: f0001
Create Date: 2026-05-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "f0002"
down_revision = "f0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fman_bid") as batch:  # batch: SQLite cannot alter tables in place
        batch.add_column(sa.Column("settlement_json", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fman_bid") as batch:
        batch.drop_column("settlement_json")
