"""R4: a gateway killed (SIGKILL) in the middle of writing its outbox, 100 times.

A child process appends and acknowledges as fast as it can and reports every committed step on stdout; the test
kills it at a random moment, reopens the outbox and checks: the file is intact, every committed append is there
unless acknowledged, nothing acknowledged reappears, and sequence numbers only ever go up and are never reused.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from goflex.cloudio.outbox import Outbox
from goflex.common import SimClock

CLOCK_START = datetime(2026, 1, 1, tzinfo=UTC)


def open_outbox(path: Path) -> Outbox:
    return Outbox(
        path,
        endpoint="goflex-dc-001",
        max_messages=500,
        max_age_s=1e9,
        max_bytes=10**8,
        clock=SimClock(CLOCK_START, speed=0),
    )


def child(path: Path, report: int) -> None:
    """Append and acknowledge forever, reporting each step to the pipe ``report`` (runs in a forked process)."""
    box = open_outbox(path)

    def say(line: str) -> None:
        os.write(report, line.encode() + b"\n")  # one write per line: atomic on a pipe (< PIPE_BUF)

    say("ready")
    i = 0
    while True:
        i += 1
        if i % 7 == 0:
            oldest = box.next_batch(1, older_than=0.0)
            if oldest:
                lo = oldest[0].seq
                say(f"P {lo} {lo + 2}")
                box.ack_ranges([(lo, lo + 2)])
                say(f"K {lo} {lo + 2}")
        else:
            seqs = box.append_many([("@update/goflex-dc-001/n/o/a", b"v" * (i % 50))] * (1 + i % 3))
            say("A " + " ".join(map(str, seqs)))


def run_and_kill(path: Path, delay_s: float) -> str:
    """Fork a writer (cheap: modules are already imported), SIGKILL it after ``delay_s``, return its reports."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        try:
            os.close(read_end)
            child(path, write_end)
        finally:
            os._exit(1)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reports:
        assert reports.readline() == b"ready\n"
        time.sleep(delay_s)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status)
        assert os.WTERMSIG(status) == signal.SIGKILL
        return reports.read().decode()


RUNS = 100


@pytest.mark.slow
def test_kill_mid_write_keeps_outbox_intact_and_seq_monotonic(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    rng = random.Random(4)
    reported: list[int] = []  # every seq the child said it committed, in order, over all runs
    acked: set[int] = set()  # acknowledgements the child confirmed
    maybe_acked: set[int] = set()  # acknowledgements it started (the kill may land before it confirms)
    for _ in range(RUNS):
        output = run_and_kill(path, rng.uniform(0.0, 0.03))
        # Only newline-terminated reports count: the kill may cut the last one.
        for line in output.split("\n")[:-1]:
            kind, *numbers = line.split()
            if kind == "A":
                reported += [int(n) for n in numbers]
            elif kind == "K":
                acked |= set(range(int(numbers[0]), int(numbers[1]) + 1))
            elif kind == "P":
                maybe_acked |= set(range(int(numbers[0]), int(numbers[1]) + 1))

        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
        with open_outbox(path) as box:
            pending = [e.seq for e in box.next_batch(100_000, older_than=1e12)]
            assert not set(pending) & acked, "an acknowledged message came back"
            stats = box.stats()
            assert stats.pending == len(pending)
            if reported:
                assert box.next_seq > reported[-1], "sequence went backwards"
                # Every committed, unacknowledged append survived, or was dropped by the cap and counted.
                pending_set = set(pending)
                lost = [s for s in reported if s not in maybe_acked and s not in pending_set]
                assert len(lost) <= stats.dropped_by_cap
                assert all(s < min(pending, default=box.next_seq) for s in lost)
    assert len(reported) > RUNS, "the child never got to write: the test proved nothing"
    assert reported == sorted(set(reported)), "a sequence number was reused or went backwards"
