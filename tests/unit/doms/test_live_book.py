"""The order book as DOMS's flexibility (goflex.doms.live_book) and the scenario replay (live_inputs)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from goflex.doms.live_book import BookSettings, market_offer, parse_bid
from goflex.doms.live_inputs import DayaheadSource, ScenarioReplay
from goflex.doms.scenario_files import GridSeries, format_grid_csv

SLOT = 1_964_445  # 2026-01-09T23:15:00Z


def iso(slot: int) -> str:
    return datetime.fromtimestamp(slot * 900, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bid(first: int, last: int, slices: list[tuple[int, float, float, float | None]]) -> dict[str, object]:
    return {
        "orderId": "s1",
        "startAfterTime": iso(first),
        "startBeforeTime": iso(last),
        "startTime": None,
        "slices": [
            {"duration": d, "lowerKwh": lo, "upperKwh": 9.0, "baselineKwh": base, "priceDownEurPerKwh": p}
            for d, lo, base, p in slices
        ],
    }


def test_a_bid_gives_its_mean_down_flexibility_per_slot_and_its_price() -> None:
    parsed = parse_bid(bid(SLOT, SLOT + 2, [(2, 0.0, 3.0, 0.05), (1, 1.0, 1.0, 0.05), (1, 0.0, 2.0, None)]))
    assert parsed.down_kwh == (1.5, 1.5, 0.0, 0.0)  # 3 kWh over 2 slots; no flex; not offered
    assert parsed.mean_down_kwh == 0.75
    assert parsed.price_eur_per_kwh == pytest.approx(0.05)


def test_the_book_covers_the_quarters_a_bid_can_reach_in_mw() -> None:
    book = [bid(SLOT + 1, SLOT + 2, [(2, 0.0, 2.0, 0.06)]), bid(SLOT, SLOT, [(1, 0.0, 4.0, 0.04)])]
    offer, skipped = market_offer(book, first_slot=SLOT, horizon=6, settings=BookSettings())
    assert skipped == 0
    assert offer is not None
    # bid 1: 1 kWh/slot in slots SLOT+1 .. SLOT+3; bid 2: 4 kWh in SLOT; kWh per quarter x 4 / 1000 = MW
    assert np.allclose(offer.cap_mw, [0.016, 0.004, 0.004, 0.004, 0.0, 0.0])
    assert offer.cost_eur_per_mwh == pytest.approx((0.06 * 1.0 + 0.04 * 4.0) / 5.0 * 1000)
    assert offer.durations == (1, 2)  # no longer than the longest bid


def test_a_malformed_bid_is_skipped_and_counted_and_an_empty_book_offers_nothing() -> None:
    bad = {"startAfterTime": "yesterday", "startBeforeTime": iso(SLOT), "slices": []}
    offer, skipped = market_offer(
        [bad, bid(SLOT, SLOT, [(1, 0.0, 4.0, 0.04)])], first_slot=SLOT, horizon=2, settings=BookSettings()
    )
    assert skipped == 1
    assert offer is not None
    assert market_offer([], first_slot=SLOT, horizon=2, settings=BookSettings()) == (None, 0)


def grid(days: float, start: int = 1_451_865_600) -> GridSeries:  # 2016-01-04, a Monday
    n = int(days * 288)
    t = start + 300 * np.arange(n, dtype=np.int64)
    load = 70.0 + np.arange(n) % 288 / 10.0
    dayahead = np.repeat(70.0 + np.arange(n // 3) % 96 / 3.0, 3)
    return GridSeries(t, load, dayahead, np.full(n, 50.0))


def test_the_replay_keeps_weekday_and_time_of_day_and_scales_megawatts() -> None:
    replay = ScenarioReplay(grid(7), scale=0.01)
    monday_2026 = 1_768_780_800 + 3 * 3600 + 600  # 2026-01-19 (a Monday) 03:10 UTC
    row = replay.row(monday_2026)
    assert replay.index(monday_2026) == (3 * 3600 + 600) // 300
    assert row.load_mw == pytest.approx((70.0 + 38 / 10.0) * 0.01)
    assert row.spot_eur_mwh == 50.0  # prices are not scaled
    assert math.isnan(row.short_eur_mwh)


def test_a_dropped_dayahead_file_overrides_the_scenario_and_a_bad_one_is_named(tmp_path: Path) -> None:
    replay = ScenarioReplay(grid(1), scale=0.5)
    source = DayaheadSource(replay, tmp_path)
    t = int(replay.grid.time_s[3])
    assert source.dayahead_mw(t) == pytest.approx(replay.grid.dayahead_mw[3] * 0.5)
    drop = grid(1)
    drop = GridSeries(drop.time_s, np.full(288, np.nan), np.full(288, 100.0), np.full(288, 60.0))
    (tmp_path / "dayahead-1.csv").write_text(format_grid_csv(drop), encoding="utf-8")
    (tmp_path / "dayahead-2.csv").write_text("time,oops\n", encoding="utf-8")
    assert source.refresh() == 1
    assert source.bad_files == 1
    assert "oops" in source.last_error
    assert source.dayahead_mw(t) == 50.0
    assert source.refresh() == 0  # unchanged files are not read again
