"""Dead letters: messages ingest rejected, kept with the reason so an operator can see and replay them.

reliability.md Q1: a bad message is rejected with a reason, counted, kept in a dead-letter table, and never
blocks the good ones. Payloads are cut to :data:`MAX_PAYLOAD_BYTES` (a 10 MB garbage message must not fill the
database); the original size is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import sqlalchemy as sa

from goflex.store.database import Database
from goflex.store.schema import dead_letter

MAX_PAYLOAD_BYTES: Final = 64 * 1024
MAX_DETAIL_CHARS: Final = 4000


@dataclass(frozen=True)
class DeadLetter:
    """One rejected message.

    Attributes:
        id: row id (increasing).
        at: when it was rejected.
        endpoint: the endpoint named by the topic, if any could be read.
        topic: the MQTT topic.
        payload: the payload, at most :data:`MAX_PAYLOAD_BYTES` bytes.
        payload_size: the original payload size [bytes].
        reason: a short machine-readable reason (``malformed``, ``wrong_type``, ...), also the metrics label.
        detail: a human-readable explanation.
    """

    id: int
    at: datetime
    endpoint: str | None
    topic: str
    payload: bytes
    payload_size: int
    reason: str
    detail: str


class DeadLetterRepository:
    """Append and inspect dead letters."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(  # noqa: PLR0917 - the positional order is the shared contract (docs/dev/interfaces.md)
        self, endpoint: str | None, topic: str, payload: bytes, reason: str, detail: str, at: datetime
    ) -> int:
        """Keep a rejected message; returns its id. The payload is truncated to :data:`MAX_PAYLOAD_BYTES`."""
        values = {
            "at": at,
            "endpoint": endpoint,
            "topic": topic,
            "payload": bytes(payload[:MAX_PAYLOAD_BYTES]),
            "payload_size": len(payload),
            "reason": reason[:64],
            "detail": detail[:MAX_DETAIL_CHARS],
        }
        with self._db.transaction(write=True) as conn:
            new_id = conn.execute(dead_letter.insert().values(**values).returning(dead_letter.c.id)).scalar_one()
        return int(new_id)

    def count_by_reason(self) -> dict[str, int]:
        """Number of dead letters per reason."""
        query = sa.select(dead_letter.c.reason, sa.func.count()).group_by(dead_letter.c.reason)
        with self._db.transaction() as conn:
            return {reason: int(count) for reason, count in conn.execute(query).all()}

    def recent(self, limit: int = 100) -> list[DeadLetter]:
        """The newest ``limit`` dead letters, newest first."""
        query = sa.select(dead_letter).order_by(dead_letter.c.id.desc()).limit(limit)
        with self._db.transaction() as conn:
            rows = conn.execute(query).all()
        return [
            DeadLetter(
                id=r.id,
                at=r.at,
                endpoint=r.endpoint,
                topic=r.topic,
                payload=bytes(r.payload),
                payload_size=r.payload_size,
                reason=r.reason,
                detail=r.detail,
            )
            for r in rows
        ]
