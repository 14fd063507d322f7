"""The one SQL schema of goflex, as SQLAlchemy Core tables (SQLite and PostgreSQL).

The Alembic migrations in :mod:`goflex.store.migrations` create exactly these tables (a unit test compares the
migrated database with this metadata). Parts:

* process database: ``endpoint`` (model, online state, ban), ``attribute``, ``last_value``;
* history database: ``history`` (partitioned by ``time`` on PostgreSQL), ``ingest_ledger``, ``dead_letter``;
* access rights: ``principal`` (users, groups, applications), ``group_member``, ``endpoint_group``,
  ``endpoint_group_member``, ``endpoint_grant``, ``endpoint_group_grant``, ``element_grant``.

Times are aware UTC datetimes in Python. PostgreSQL keeps them as ``timestamptz``; SQLite keeps them as integer
microseconds since the epoch, which makes bucketing for resampling exact integer arithmetic and keeps history
rows small.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
NAME_LENGTH: Final = 255
PATH_LENGTH: Final = 1024


def to_micros(value: datetime) -> int:
    """Microseconds since the UNIX epoch of an aware datetime [us]."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: goflex uses aware UTC datetimes only")
    return (value - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """Aware UTC datetime of a count of microseconds since the UNIX epoch."""
    return EPOCH + timedelta(microseconds=micros)


class UtcTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetime: ``timestamptz`` on PostgreSQL, integer microseconds on SQLite."""

    impl = sa.types.BigInteger
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.types.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(sa.types.BigInteger())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: goflex uses aware UTC datetimes only")
        if dialect.name == "postgresql":
            return value
        return to_micros(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return from_micros(int(value))


metadata = sa.MetaData()

# ---------------------------------------------------------------------------------------------- process database
endpoint = sa.Table(
    "endpoint",
    metadata,
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

attribute = sa.Table(
    "attribute",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("endpoint", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("path", sa.String(PATH_LENGTH), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    # A type change of an attribute gets a new id, so every history row decodes with the type it was stored as.
    sa.UniqueConstraint("endpoint", "path", "type", name="uq_attribute_endpoint_path_type"),
)

last_value = sa.Table(
    "last_value",
    metadata,
    sa.Column("endpoint", sa.String(NAME_LENGTH), primary_key=True),
    sa.Column("path", sa.String(PATH_LENGTH), primary_key=True),
    sa.Column("time", UtcTime(), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("value_num", sa.Float(precision=53), nullable=True),
    sa.Column("value_text", sa.Text, nullable=True),
)

# ---------------------------------------------------------------------------------------------- history database
history = sa.Table(
    "history",
    metadata,
    sa.Column("attribute_id", sa.Integer, nullable=False),
    sa.Column("time", UtcTime(), nullable=False),
    sa.Column("value_num", sa.Float(precision=53), nullable=True),
    sa.Column("value_text", sa.Text, nullable=True),
    sa.Column("quality", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("seq", sa.BigInteger, nullable=True),
    sa.Column("item", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_history_attribute_time", "attribute_id", "time"),
)

ingest_ledger = sa.Table(
    "ingest_ledger",
    metadata,
    sa.Column("endpoint", sa.String(NAME_LENGTH), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("received_at", UtcTime(), nullable=False),
)

dead_letter = sa.Table(
    "dead_letter",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UtcTime(), nullable=False),
    sa.Column("endpoint", sa.String(NAME_LENGTH), nullable=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("payload_size", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index("ix_dead_letter_at", "at"),
)

# ------------------------------------------------------------------------------------------------- access rights
principal = sa.Table(
    "principal",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # One namespace for users, groups and applications: the name is also the MQTT username of an application.
    sa.Column("name", sa.String(NAME_LENGTH), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("application_kind", sa.String(64), nullable=True),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UtcTime(), nullable=False),
)

group_member = sa.Table(
    "group_member",
    metadata,
    sa.Column("group_id", sa.Integer, sa.ForeignKey("principal.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("principal.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_group_member_member", "member_id"),
)

endpoint_group = sa.Table(
    "endpoint_group",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(NAME_LENGTH), nullable=False, unique=True),
)

endpoint_group_member = sa.Table(
    "endpoint_group_member",
    metadata,
    sa.Column("group_id", sa.Integer, sa.ForeignKey("endpoint_group.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("endpoint", sa.String(NAME_LENGTH), sa.ForeignKey("endpoint.name", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_endpoint_group_member_endpoint", "endpoint"),
)

endpoint_grant = sa.Table(
    "endpoint_grant",
    metadata,
    sa.Column("principal_id", sa.Integer, sa.ForeignKey("principal.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("endpoint", sa.String(NAME_LENGTH), sa.ForeignKey("endpoint.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("level", sa.SmallInteger, nullable=False),
    sa.Index("ix_endpoint_grant_endpoint", "endpoint"),
)

endpoint_group_grant = sa.Table(
    "endpoint_group_grant",
    metadata,
    sa.Column("principal_id", sa.Integer, sa.ForeignKey("principal.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("group_id", sa.Integer, sa.ForeignKey("endpoint_group.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("level", sa.SmallInteger, nullable=False),
)

element_grant = sa.Table(
    "element_grant",
    metadata,
    sa.Column("principal_id", sa.Integer, sa.ForeignKey("principal.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("endpoint", sa.String(NAME_LENGTH), sa.ForeignKey("endpoint.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("path_prefix", sa.String(PATH_LENGTH), primary_key=True),
    sa.Column("level", sa.SmallInteger, nullable=False),
)
