"""Errors of the store (``goflex.store``).

Tree::

    GoflexError
     +- StoreError            anything the store refuses or cannot do
         +- StoreUnavailable  the database is down or busy: the caller retries later (nothing was stored)
         +- NotFound          the named endpoint, user, group or attribute does not exist
         +- Conflict          the change contradicts stored state (duplicate name, removing the only owner)
         +- InvalidValue      a value the store cannot keep exactly (NaN, wrong Python type for its type)

SQLAlchemy and psycopg errors are translated at the edge (:mod:`goflex.store.database`), so callers never see a
driver's exception types.
"""

from __future__ import annotations

from goflex.common.errors import GoflexError


class StoreError(GoflexError):
    """Base class of every error the store raises."""


class StoreUnavailable(StoreError):  # noqa: N818 - named for the caller's decision (style.md 5)
    """The database cannot be reached or is locked; the operation had no effect and may be retried."""


class NotFound(StoreError):  # noqa: N818 - named for the caller's decision (style.md 5)
    """The named object does not exist."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind} {name!r} not found")
        self.kind = kind
        self.name = name


class Conflict(StoreError):  # noqa: N818 - named for the caller's decision (style.md 5)
    """The change contradicts what is stored (a duplicate, or a rule such as one owner per endpoint)."""


class InvalidValue(StoreError):  # noqa: N818 - named for the caller's decision (style.md 5)
    """A value cannot be stored exactly (non-finite number, type mismatch); the message names the field."""
