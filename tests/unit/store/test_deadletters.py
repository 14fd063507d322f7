"""Dead letters (SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from goflex.store import Database, DeadLetterRepository
from goflex.store.deadletters import MAX_PAYLOAD_BYTES

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_dead_letters_are_kept_counted_and_truncated(db: Database) -> None:
    repo = DeadLetterRepository(db)
    huge = b"\x00" * (10 * 1024 * 1024)
    repo.add("goflex-dc-001", "@update/goflex-dc-001/a/b/c", huge, "too_large", "10 MB payload", T0)
    repo.add(None, "@update/#", b"{", "malformed", "truncated JSON", T0 + timedelta(seconds=1))
    repo.add("goflex-dc-002", "@update/goflex-dc-002/a/b/c", b"{}", "malformed", "no value", T0 + timedelta(seconds=2))
    assert repo.count_by_reason() == {"malformed": 2, "too_large": 1}
    recent = repo.recent(2)
    assert [d.detail for d in recent] == ["no value", "truncated JSON"]
    oldest = repo.recent(10)[-1]
    assert len(oldest.payload) == MAX_PAYLOAD_BYTES
    assert oldest.payload_size == len(huge)
    assert oldest.at == T0
