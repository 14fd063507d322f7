"""Shared history scenarios, run on SQLite (unit) and PostgreSQL (integration)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from goflex.store import HistoryRepository, HistoryRow, Quality, Resample, ResampleFunction

T0 = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # the data crosses midnight (two PostgreSQL partitions)
EP = "goflex-dc-004"
POWER = f"{EP}/powerMeter-1/wattsTotal/datapoint"


def sample_rows(n: int = 500, *, seed: int = 7) -> list[HistoryRow]:
    """``n`` power values over about two hours, in shuffled arrival order, two values per message."""
    rng = random.Random(seed)
    rows = [
        HistoryRow(
            EP,
            POWER,
            T0 + timedelta(seconds=15 * k + rng.random()),
            round(rng.uniform(-3000, 9000), 3),
            Quality.GOOD,
            seq=1 + k // 2,
            item=k % 2,
        )
        for k in range(n)
    ]
    rng.shuffle(rows)
    return rows


def all_resamplings(repo: HistoryRepository) -> dict[tuple[str, str], list[tuple[datetime, float]]]:
    """Every function at every standard interval over the sample (for comparing backends)."""
    out: dict[tuple[str, str], list[tuple[datetime, float]]] = {}
    for function in ResampleFunction:
        for interval in ("1m", "15m", "1h", "1d"):
            points = repo.query(
                EP, POWER, T0 - timedelta(days=1), T0 + timedelta(days=1), resample=Resample.parse(interval, function)
            )
            out[(function.value, interval)] = [(p.time, float(p.value)) for p in points]
    return out
