"""Stores (``goflex.store``): one SQL schema, SQLite or PostgreSQL chosen by URL, and its repositories.

Usage::

    db = open_database("sqlite:///var/goflex/goflex.db")   # or postgresql://user@host/goflex
    db.migrate()
    process = ProcessRepository(db)
    history = HistoryRepository(db)

Every call is synchronous (SQLAlchemy Core); async services call it from a worker thread. Errors are
:class:`StoreError` subclasses; :class:`StoreUnavailable` means "retry later, nothing was stored".
"""

from goflex.store.database import Database, open_database
from goflex.store.deadletters import DeadLetter, DeadLetterRepository
from goflex.store.errors import Conflict, InvalidValue, NotFound, StoreError, StoreUnavailable
from goflex.store.history import HistoryPoints, HistoryRepository, HistoryRow, WriteResult
from goflex.store.permissions import (
    Application,
    ElementPermission,
    EndpointPermission,
    Group,
    PrincipalKind,
    TopicGrant,
    User,
)
from goflex.store.process import EndpointRecord, LastValue, ProcessRepository
from goflex.store.resample import InvalidResample, Point, Resample, ResampleFunction, parse_interval
from goflex.store.rights import RightsRepository
from goflex.store.values import Quality, Value, ValueType

__all__ = [
    "Application",
    "Conflict",
    "Database",
    "DeadLetter",
    "DeadLetterRepository",
    "ElementPermission",
    "EndpointPermission",
    "EndpointRecord",
    "Group",
    "HistoryPoints",
    "HistoryRepository",
    "HistoryRow",
    "InvalidResample",
    "InvalidValue",
    "LastValue",
    "NotFound",
    "Point",
    "PrincipalKind",
    "ProcessRepository",
    "Quality",
    "Resample",
    "ResampleFunction",
    "RightsRepository",
    "StoreError",
    "StoreUnavailable",
    "TopicGrant",
    "User",
    "Value",
    "ValueType",
    "WriteResult",
    "open_database",
    "parse_interval",
]
