"""The durable outbox: sequence numbers, acknowledgement, re-send, caps and their counters."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goflex.cloudio.outbox import Outbox, OutboxError
from goflex.common import SimClock

START = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
TOPIC = "@update/goflex-dc-004/nodes/powerMeter-1/objects/wattsTotal/attributes/datapoint"


def make(path: Path, clock: SimClock, **caps: float) -> Outbox:
    return Outbox(
        path,
        endpoint="goflex-dc-004",
        max_messages=int(caps.get("max_messages", 1000)),
        max_age_s=caps.get("max_age_s", 3600.0),
        max_bytes=int(caps.get("max_bytes", 1_000_000)),
        clock=clock,
    )


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START, speed=0)


def test_sequence_numbers_start_at_one_and_survive_restart_even_when_empty(tmp_path: Path, clock: SimClock) -> None:
    path = tmp_path / "outbox.db"
    with make(path, clock) as box:
        assert [box.append(TOPIC, b"x") for _ in range(3)] == [1, 2, 3]
        assert box.ack_ranges([(1, 3)]) == 3
        assert box.pending_count == 0
    with make(path, clock) as box:
        # Empty, but the next message must not reuse a number ingest may already have stored.
        assert box.append(TOPIC, b"y") == 4
        assert box.stats().next_seq == 5


def test_the_file_uses_wal_and_full_sync(tmp_path: Path, clock: SimClock) -> None:
    path = tmp_path / "outbox.db"
    with make(path, clock) as box:
        box.append(TOPIC, b"x")
        assert box._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_acked_entries_are_gone_for_good(tmp_path: Path, clock: SimClock) -> None:
    path = tmp_path / "outbox.db"
    with make(path, clock) as box:
        box.append_many([(TOPIC, bytes([i])) for i in range(10)])
        assert box.ack_ranges([(2, 4), (7, 7), (50, 60)]) == 4
        assert box.ack_ranges([(2, 4)]) == 0  # a duplicate @ack is harmless
    with make(path, clock) as box:
        pending = [e.seq for e in box.next_batch(100, older_than=clock.time())]
        assert pending == [1, 5, 6, 8, 9, 10]
        assert box.pending_count == 6
        assert box.get(5) is not None
        assert box.get(5).payload == bytes([4])  # type: ignore[union-attr]
        assert box.get(3) is None


def test_backlog_is_oldest_first_and_skips_recently_sent(tmp_path: Path, clock: SimClock) -> None:
    with make(tmp_path / "o.db", clock) as box:
        box.append_many([(TOPIC, b"a"), (TOPIC, b"b"), (TOPIC, b"c"), (TOPIC, b"d")])
        box.mark_sent([1, 2])
        sent_at = clock.time()
        clock.advance(10)
        box.mark_sent([3])
        # Resend-after 30 s: 1 and 2 are not due yet, 3 neither; 4 was never sent.
        assert [e.seq for e in box.next_batch(10, older_than=clock.time() - 30)] == [4]
        clock.advance(25)  # 1, 2 sent 35 s ago; 3 sent 25 s ago
        due = box.next_batch(10, older_than=clock.time() - 30)
        assert [e.seq for e in due] == [1, 2, 4]
        assert due[0].last_sent == sent_at
        assert due[0].attempts == 1
        assert [e.seq for e in box.next_batch(1, older_than=clock.time() - 30, after=1)] == [2]


def test_requeue_makes_entries_due_at_once(tmp_path: Path, clock: SimClock) -> None:
    with make(tmp_path / "o.db", clock) as box:
        box.append_many([(TOPIC, b"a"), (TOPIC, b"b"), (TOPIC, b"c")])
        box.mark_sent([1, 2, 3])
        assert box.next_batch(10, older_than=clock.time() - 30) == []
        assert box.requeue([(2, 3), (9, 12)]) == 2
        assert [e.seq for e in box.next_batch(10, older_than=clock.time() - 30)] == [2, 3]


def test_count_cap_drops_oldest_and_counts_persistently(tmp_path: Path, clock: SimClock) -> None:
    path = tmp_path / "o.db"
    with make(path, clock, max_messages=5) as box:
        for i in range(8):
            box.append(TOPIC, bytes([i]))
        assert [e.seq for e in box.next_batch(100, older_than=clock.time())] == [4, 5, 6, 7, 8]
        assert box.stats().dropped_by_cap == 3
    with make(path, clock, max_messages=5) as box:
        stats = box.stats()
        assert (stats.pending, stats.dropped_by_cap, stats.dropped_by_age) == (5, 3, 0)


def test_byte_cap_drops_oldest_until_it_fits(tmp_path: Path, clock: SimClock) -> None:
    with make(tmp_path / "o.db", clock, max_bytes=250) as box:
        for _ in range(3):
            box.append(TOPIC, b"x" * 100)
        assert box.pending_bytes == 200
        assert box.stats().dropped_by_cap == 1
        box.append(TOPIC, b"y" * 1000)  # bigger than the cap: the newest message is still kept
        assert [e.seq for e in box.next_batch(10, older_than=clock.time())] == [4]
        assert box.stats().dropped_by_cap == 3


def test_age_cap_drops_old_entries(tmp_path: Path, clock: SimClock) -> None:
    with make(tmp_path / "o.db", clock, max_age_s=3600) as box:
        box.append_many([(TOPIC, b"old1"), (TOPIC, b"old2")])
        clock.advance(1800)
        box.append(TOPIC, b"mid")
        assert box.oldest_age() == pytest.approx(1800)
        clock.advance(1801)
        assert box.expire() == 2
        stats = box.stats()
        assert (stats.pending, stats.dropped_by_age, stats.dropped_by_cap) == (1, 2, 0)
        assert stats.oldest_age_s == pytest.approx(1801)
        clock.advance(4000)
        box.append(TOPIC, b"new")  # appending also expires
        assert box.stats().dropped_by_age == 3
        assert box.pending_count == 1


def test_empty_outbox_reports_no_age(tmp_path: Path, clock: SimClock) -> None:
    with make(tmp_path / "o.db", clock) as box:
        assert box.oldest_age() is None
        assert box.stats().oldest_age_s is None
        assert box.append_many([]) == []


def test_a_file_that_is_not_an_outbox_is_a_clear_error(tmp_path: Path, clock: SimClock) -> None:
    path = tmp_path / "o.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(OutboxError, match="cannot be opened"):
        make(path, clock)


def test_failed_append_consumes_no_sequence_number(tmp_path: Path, clock: SimClock) -> None:
    path = tmp_path / "o.db"
    with make(path, clock) as box:
        box.append(TOPIC, b"a")
        blocker = sqlite3.connect(path, timeout=0)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        box._db.execute("PRAGMA busy_timeout=0")
        with pytest.raises(OutboxError, match="append failed"):
            box.append(TOPIC, b"b")
        blocker.rollback()
        blocker.close()
        assert box.append(TOPIC, b"c") == 2
        assert box.pending_count == 2


def test_invalid_ranges_are_refused(tmp_path: Path, clock: SimClock) -> None:
    with make(tmp_path / "o.db", clock) as box:
        with pytest.raises(ValueError, match="invalid sequence range"):
            box.ack_ranges([(5, 2)])
        with pytest.raises(ValueError, match="invalid sequence range"):
            box.requeue([(0, 2)])


def test_caps_must_be_positive(tmp_path: Path, clock: SimClock) -> None:
    with pytest.raises(ValueError, match="positive"):
        make(tmp_path / "o.db", clock, max_messages=0)


_op = st.one_of(
    st.tuples(st.just("append"), st.integers(1, 4)),
    st.tuples(st.just("ack"), st.integers(1, 40), st.integers(0, 5)),
    st.tuples(st.just("reopen"), st.just(0)),
)


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(_op, max_size=25), max_messages=st.integers(1, 12))
def test_any_history_keeps_seqs_monotonic_and_acks_final(ops: list[tuple[int | str, ...]], max_messages: int) -> None:
    clock = SimClock(START, speed=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "o.db"
        box = make(path, clock, max_messages=max_messages)
        issued: list[int] = []
        acked: set[int] = set()
        try:
            for op in ops:
                if op[0] == "append":
                    issued += box.append_many([(TOPIC, b"p")] * int(op[1]))
                elif op[0] == "ack":
                    # Ingest acknowledges only what it stored, so only numbers already issued.
                    lo, hi = int(op[1]), min(int(op[1]) + int(op[2]), len(issued))
                    if lo <= hi:
                        box.ack_ranges([(lo, hi)])
                        acked |= set(range(lo, hi + 1))
                else:
                    box.close()
                    box = make(path, clock, max_messages=max_messages)
                pending = [e.seq for e in box.next_batch(10_000, older_than=clock.time())]
                assert issued == list(range(1, len(issued) + 1))  # strictly increasing, never reused
                assert not set(pending) & acked  # nothing acked reappears
                assert len(pending) <= max_messages
                assert box.pending_count == len(pending)
                # Whatever is pending is the newest unacked issued numbers; the rest was counted as dropped.
                unacked = [s for s in issued if s not in acked]
                assert pending == unacked[len(unacked) - len(pending) :]
                assert box.stats().dropped_by_cap >= len(unacked) - len(pending)
            assert box.next_seq == len(issued) + 1
        finally:
            box.close()
