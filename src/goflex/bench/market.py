"""``goflex bench market --json``: orders matched per second and the latency of one order through the API.

Two measurements, each with its baseline in the same run:

* **pure matcher**: ``N`` bids (one to three slices, up to 4 slots of time flexibility, some with a total-energy
  constraint) rest in an :class:`~goflex.flex.fmar.book.OrderBook`; ``N`` buy orders (1-4 slots, both
  directions) are matched one after the other. Figure: buy orders matched per second, contracts made, and how
  much of the time went to the HiGHS MILP (events where greedy is not exact) against the greedy path.
* **through the API**: a real uvicorn on a free port (its own thread and event loop) over a temporary SQLite
  file; the same bids and buy orders are POSTed with idempotency keys. Figures: p50/p99 latency of one buy
  order (matching, contracts and commit included) and orders per second, against ``GET /health`` on the same
  server and connection (the cost of HTTP alone), with the ratio.

Progress goes to stderr; the result is one JSON document on stdout (written by the command).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import highspy
import httpx
import uvicorn
from argon2 import PasswordHasher

from goflex.common.clock import SimClock
from goflex.flex.fmar import matching
from goflex.flex.fmar.app import create_app
from goflex.flex.fmar.book import BidEntry, BuyEntry, OrderBook
from goflex.flex.fmar.market import MarketSettings
from goflex.flex.fmar.repository import MarketRepository, migrate_market
from goflex.flex.fmar.terms import BuyTerms, Direction, bid_terms, slot_of
from goflex.flex.json_codec import dump_offer
from goflex.flex.model import (
    EnergyConstraint,
    FlexOffer,
    FlexOfferState,
    ProfileSlice,
    Schedule,
    ScheduleSlice,
    TariffConstraint,
)
from goflex.store.database import open_database

DAY = datetime(2026, 1, 22, tzinfo=UTC)
NOW = DAY - timedelta(hours=6)
SLOT = timedelta(minutes=15)
SLOTS = 96


@dataclass(frozen=True, slots=True)
class MarketBenchOptions:
    """``orders``: bids and buy orders each (>= 1); ``api_orders``: how many go through the API."""

    orders: int = 1000
    api_orders: int = 300
    seed: int = 1


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _quiet_highs() -> None:
    # HiGHS prints its banner on stdout, from C, at its first instance; stdout carries the JSON result.
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no stubs
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _bid(rng: random.Random, i: int) -> FlexOffer:
    est = rng.randrange(0, SLOTS - 8)
    slices, base = [], []
    for _ in range(rng.randint(1, 3)):
        lo = rng.choice((0.0, 0.5, 1.0))
        hi = lo + rng.choice((1.0, 2.0, 3.0))
        slices.append(
            ProfileSlice(
                1, 1, (EnergyConstraint(lo, hi),), TariffConstraint(-rng.uniform(0.02, 0.12), rng.uniform(0.02, 0.12))
            )
        )
        base.append(rng.uniform(lo, hi))
    tec = None
    if rng.random() < 0.3:
        total = sum(base)
        tec = EnergyConstraint(max(sum(s.energy_constraints[0].lower for s in slices), total - 1.0), total + 1.0)
    start = DAY + est * SLOT
    return FlexOffer(
        id=f"fo-{i}",
        state=FlexOfferState.OFFERED,
        offered_by_id="bench",
        creation_time=NOW - timedelta(hours=1),
        accept_before_time=NOW,
        assignment_before_time=DAY - timedelta(hours=1),
        start_after_time=start,
        start_before_time=start + rng.randint(0, 4) * SLOT,
        profile=tuple(slices),
        total_energy_constraint=tec,
        default_schedule=Schedule(start, tuple(ScheduleSlice(1, b) for b in base)),
    )


def _buy(rng: random.Random) -> BuyTerms:
    first = rng.randrange(0, SLOTS - 4)
    slots = {slot_of(DAY) + first + k: rng.choice((1.0, 2.0, 5.0)) for k in range(rng.randint(1, 4))}
    return BuyTerms(rng.choice(list(Direction)), None, rng.uniform(0.05, 0.15), slots, True)


def bench_matcher(options: MarketBenchOptions) -> dict[str, Any]:
    """Orders matched per second by the pure matcher (see the module docstring)."""
    rng = random.Random(options.seed)
    book = OrderBook()
    for i in range(options.orders):
        offer = _bid(rng, i)
        book.bids[offer.id] = BidEntry(offer.id, "s", bid_terms(offer, max_abs_price=10), None, book.next_priority())
    orders = [_buy(rng) for _ in range(options.orders)]
    milp_s = [0.0]
    original = matching._milp

    def timed(
        order: BuyTerms,
        wanted: Mapping[int, float],
        bids: Sequence[matching.BidView],
        candidates: Sequence[Any],
        time_limit_s: float,
    ) -> list[matching.Fill]:
        t0 = time.perf_counter()
        try:
            return original(order, wanted, bids, candidates, time_limit_s)
        finally:
            milp_s[0] += time.perf_counter() - t0

    matching._milp = timed
    contracts = milp_events = 0
    first = slot_of(DAY) - 8
    started = time.perf_counter()
    try:
        for i, terms in enumerate(orders):
            book.buys[f"o{i}"] = BuyEntry(f"o{i}", "b", terms, book.next_priority(), dict(terms.slots))
            before = milp_s[0]
            contracts += len(book.match_buy(f"o{i}", first_slot=first, now=NOW))
            milp_events += milp_s[0] > before
    finally:
        matching._milp = original
    elapsed = time.perf_counter() - started
    return {
        "bids": options.orders,
        "buyOrders": len(orders),
        "contracts": contracts,
        "seconds": round(elapsed, 4),
        "ordersMatchedPerSecond": round(len(orders) / elapsed, 1),
        "milpEvents": milp_events,
        "milpSeconds": round(milp_s[0], 4),
    }


def _percentiles(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    return {
        "p50Ms": round(statistics.median(ordered) * 1000, 3),
        "p99Ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 3),
    }


class _ServerThread:
    """uvicorn serving ``app`` in its own thread and event loop (the client must not share its loop)."""

    def __init__(self, app: Any) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the market's server did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}/api/v1"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


async def _timed(count: int, send: Callable[[int], Any]) -> list[float]:
    samples = []
    for i in range(count):
        t0 = time.perf_counter()
        response = await send(i)
        samples.append(time.perf_counter() - t0)
        if response.status_code >= 300:
            raise RuntimeError(f"request {i} failed: {response.status_code} {response.text[:200]}")
    return samples


async def _api_run(url: str, tokens: dict[str, str], options: MarketBenchOptions) -> dict[str, Any]:
    rng = random.Random(options.seed)
    bids = [{"flexOffer": dump_offer(_bid(rng, i))} for i in range(options.api_orders)]
    buys = []
    for _ in range(options.api_orders):
        terms = _buy(rng)
        buys.append(
            {
                "direction": terms.direction.value,
                "maxPriceEurPerKwh": terms.max_price,
                "slots": [
                    {"start": (datetime.fromtimestamp(t * 900, UTC)).isoformat().replace("+00:00", "Z"), "energyKwh": e}
                    for t, e in terms.slots.items()
                ],
            }
        )
    seller = {"Authorization": f"Bearer {tokens['seller']}"}
    buyer = {"Authorization": f"Bearer {tokens['buyer']}"}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        await _timed(50, lambda i: client.get("/health"))  # warm-up: connection, first-request costs
        for headers in (seller, buyer):  # the first use of a token pays one argon2 check; later ones hit the cache
            await client.get("/participants/me", headers=headers)
        health = await _timed(options.api_orders, lambda i: client.get("/health"))
        sell = await _timed(
            len(bids),
            lambda i: client.post("/orders/sell", json=bids[i], headers=seller | {"Idempotency-Key": f"s{i}"}),
        )
        buy = await _timed(
            len(buys), lambda i: client.post("/orders/buy", json=buys[i], headers=buyer | {"Idempotency-Key": f"b{i}"})
        )
        trades = (await client.get("/trades", headers=buyer)).json()["trades"]
    buy_p = _percentiles(buy)
    health_p = _percentiles(health)
    return {
        "orders": len(buys),
        "bids": len(bids),
        "contracts": len(trades),
        "buyOrder": buy_p | {"ordersPerSecond": round(len(buy) / sum(buy), 1)},
        "sellOrder": _percentiles(sell) | {"ordersPerSecond": round(len(sell) / sum(sell), 1)},
        "baselineHealth": health_p | {"requestsPerSecond": round(len(health) / sum(health), 1)},
        "ratioP50": round(buy_p["p50Ms"] / health_p["p50Ms"], 2),
        "ratioP99": round(buy_p["p99Ms"] / health_p["p99Ms"], 2),
    }


def bench_api(options: MarketBenchOptions) -> dict[str, Any]:
    """Latency of one order through the API against ``/health`` (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="goflex-bench-market-") as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'market.db'}")
        try:
            migrate_market(db)
            hasher = PasswordHasher()  # the production parameters: the token cache is part of the figure
            app = create_app(
                MarketRepository(db),
                SimClock(NOW, speed=0),
                MarketSettings(),
                hasher=hasher,
                operator_token_file=Path(tmp) / "operator.txt",
            )
            market = app.state.market
            tokens = {role: market.add_participant(role, [role]) for role in ("seller", "buyer")}
            with _ServerThread(app) as url:
                return asyncio.run(_api_run(url, tokens, options))
        finally:
            db.close()


def bench_market(options: MarketBenchOptions) -> dict[str, Any]:
    """Both measurements as one JSON-ready document."""
    _quiet_highs()
    # Per-request INFO lines would be measured too; the levels are restored so an in-process caller keeps its own.
    loggers = [logging.getLogger(name) for name in ("httpx", "alembic", "goflex")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        _progress(f"bench market: pure matcher, {options.orders} bids and {options.orders} buy orders")
        matcher = bench_matcher(options)
        _progress(f"bench market: API, {options.api_orders} bids and buy orders through a real uvicorn on SQLite")
        api = bench_api(options)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    return {"benchmark": "market", "matcher": matcher, "api": api}
