"""The live DOMS: grid load from the IoT layer -> the controller every 5 minutes -> buy orders on FMAR (issue 5 s. 5).

Seed 3.3: the DSO's DOMS compares the day-ahead forecast with the live load of the balance group (TG8000, every
5 minutes), forecasts the imbalance intraday and buys load displacement to cut the imbalance penalty, with the
safety rules of 3.3.2 (dead band, stop on bad data). The decision logic is :class:`goflex.doms.controller.
Controller`, unchanged; this module feeds it and carries its decisions out:

* **input**: the grid endpoint's ``@update`` of :data:`LOAD_PATH` through the broker (an application certificate
  with READ on that endpoint only). :meth:`DomsService.receive` files each value under its 5-minute interval
  (the attribute's timestamp is the interval's start, as in ``grid.csv``);
* **cycle**: every 5 minutes of the platform clock (plus ``grace_s`` for the value to arrive) the interval just
  ended becomes a :class:`~goflex.doms.controller.LivePoint` (NaN when nothing arrived: a gap, which stops
  activations like any bad value). At a quarter's last point the order book is read first: its open bids are
  the flexibility (:mod:`goflex.doms.live_book`);
* **output**: a plan's blocks become one ``down`` buy order (:mod:`goflex.doms.live_orders`); a release revokes
  the open orders not started yet. Every decision is logged as JSON with its inputs (load, day-ahead) and kept
  for ``GET /api/v1/decisions`` (:mod:`goflex.doms.live_api`).

The controller, the forecasts and the LP are CPU work: each step runs in a worker thread so the event loop (and
on a fast simulated clock, everything else in the process) keeps going.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np

from goflex.cloudio.messages import TransactionMessage, UpdateMessage
from goflex.common.clock import Clock
from goflex.doms.controller import Controller, ControllerSettings, Decision, LivePoint, QuarterForecaster
from goflex.doms.data_validation import ValidationRules
from goflex.doms.forecast.base import F64, Outlook
from goflex.doms.forecast.selection import Selector
from goflex.doms.live_book import BookSettings, market_offer
from goflex.doms.live_inputs import DayaheadSource, WeatherForecast
from goflex.doms.live_orders import (
    SLOT_S,
    BuyOrder,
    OrderPolicy,
    PlacedOrder,
    first_tradable_slot,
    order_for,
    slot_iso,
    to_revoke,
)
from goflex.doms.optimiser import DEADBAND_MW, ShedOffer
from goflex.doms.prices import PenaltyRates, PriceModel, TwoPrice

log = logging.getLogger(__name__)

GRID_ENDPOINT = "goflex-grid-tg8000"
"""The balance-group meter's cloud.iO endpoint (TG8000-like, seed 3.3)."""
LOAD_PATH = f"{GRID_ENDPOINT}/tg8000/balanceGroupLoadMw/datapoint"
"""Its attribute: mean load of the 5-minute interval starting at the attribute's timestamp [MW]."""
STEP_S = 300
QUARTER_S = 900


@dataclass(frozen=True)
class DomsSettings:
    """How the live DOMS runs.

    Attributes:
        scale: MW of the (demo) balance group per MW of the real one [-]: the dead band and the data tolerances
            scale with it (docs/doms-live.md); 1 for the real balance group.
        horizon_quarters: optimisation horizon [quarters].
        prices: penalty model.
        orders: how decisions become buy orders.
        book: how the order book becomes flexibility.
        grace_s: wait after a 5-minute boundary before the interval counts as missing [s of the clock].
        keep_decisions: decisions kept for the API.
        weather_seed: seed of the twin weather used as the temperature forecast.
        load_path: the attribute carrying the load.
    """

    scale: float = 1.0
    horizon_quarters: int = 24
    prices: PriceModel = field(default_factory=TwoPrice)
    orders: OrderPolicy = field(default_factory=OrderPolicy)
    book: BookSettings = field(default_factory=BookSettings)
    grace_s: float = 20.0
    keep_decisions: int = 2000
    weather_seed: int = 1
    load_path: str = LOAD_PATH

    def __post_init__(self) -> None:
        if not self.scale > 0 or self.horizon_quarters < 2 or not 0 <= self.grace_s < STEP_S:
            raise ValueError("scale must be > 0, horizon_quarters >= 2 and 0 <= grace_s < 300")

    def controller(self) -> ControllerSettings:
        """The controller's settings: dead band and tolerances of the scaled balance group."""
        base = ValidationRules()
        s = self.scale
        rules = ValidationRules(
            stuck_points=base.stuck_points,
            stuck_tolerance_mw=base.stuck_tolerance_mw * s,
            spike_mw=base.spike_mw * s,
            incoherent_mw=base.incoherent_mw * s,
            incoherent_share=base.incoherent_share,
            resume_points=base.resume_points,
        )
        return ControllerSettings(horizon_quarters=self.horizon_quarters, deadband_mw=DEADBAND_MW * s, validation=rules)


class LiveEnvironment:
    """The controller's :class:`~goflex.doms.controller.Environment` in the live service.

    Outlook and prices from the :class:`DayaheadSource`, temperature from the twin weather, flexibility from the
    last order book read (:meth:`set_book`).
    """

    def __init__(self, *, start_s: int, inputs: DayaheadSource, settings: DomsSettings) -> None:
        self.start_s = start_s
        self.inputs = inputs
        self.settings = settings
        self.weather = WeatherForecast(settings.weather_seed)
        self.book: list[dict[str, Any]] = []
        self.lead_quarters = 0  # plan quarter q stands for market slot q + lead (the gate closure)
        self.skipped_bids = 0
        self.last_offer: ShedOffer | None = None

    def set_book(self, sell: list[dict[str, Any]]) -> None:
        """The open bids of ``GET /orderbook`` (its ``sell`` list)."""
        self.book = sell

    def _times(self, first_quarter: int, horizon: int) -> F64:
        return self.start_s + QUARTER_S * np.arange(first_quarter, first_quarter + horizon, dtype=np.float64)

    def outlook(self, first_quarter: int, horizon: int) -> Outlook:
        """See :class:`~goflex.doms.controller.Environment`."""
        t = self._times(first_quarter, horizon)
        dayahead = np.array([self.inputs.dayahead_mw(float(x)) for x in t])
        return Outlook(t, dayahead, self.weather.temperature_c(t + QUARTER_S / 2))

    def rates(self, first_quarter: int, horizon: int) -> PenaltyRates:
        """See :class:`~goflex.doms.controller.Environment`."""
        spot, short, long_ = self.inputs.prices(self._times(first_quarter + self.lead_quarters, horizon))
        return self.settings.prices.rates(spot, short, long_)

    def offers(self, first_quarter: int, horizon: int, committed: dict[str, tuple[F64, F64]]) -> tuple[ShedOffer, ...]:
        """See :class:`~goflex.doms.controller.Environment`: the book as one offer, with DOMS's running blocks."""
        first_slot = (self.start_s + (first_quarter + self.lead_quarters) * QUARTER_S) // SLOT_S
        offer, skipped = market_offer(self.book, first_slot=first_slot, horizon=horizon, settings=self.settings.book)
        self.skipped_bids += skipped
        if offer is None:
            self.last_offer = None
            return ()
        delta, occupied = np.zeros(horizon), np.zeros(horizon)
        for d, o in committed.values():
            delta, occupied = delta + d, occupied + o
        offer = ShedOffer(
            offer.name,
            offer.cap_mw,
            offer.durations,
            offer.duty,
            offer.rebound_factor,
            offer.cost_eur_per_mwh,
            committed_mw=delta,
            occupied_mw=occupied,
        )
        self.last_offer = offer
        return (offer,)


@dataclass
class Counters:
    """What the service has done (``GET /api/v1/stats``)."""

    values: int = 0
    points: int = 0
    gaps: int = 0
    rejected_values: int = 0
    late_values: int = 0
    decisions: int = 0
    plans: int = 0
    stopped_points: int = 0
    orders_placed: int = 0
    orders_refused: int = 0
    orders_revoked: int = 0
    market_errors: int = 0
    step_errors: int = 0


class DomsService:
    """The live DOMS (see the module docstring).

    Args:
        clock: the platform clock.
        inputs: day-ahead schedule and prices.
        market: an FMAR client authenticated as a ``buyer``, based at ``/api/v1`` (None: decide only).
        settings: see :class:`DomsSettings`.
        forecaster: the intraday forecast (default: the :class:`~goflex.doms.forecast.selection.Selector`).
    """

    def __init__(
        self,
        *,
        clock: Clock,
        inputs: DayaheadSource,
        market: httpx.AsyncClient | None,
        settings: DomsSettings | None = None,
        forecaster: QuarterForecaster | None = None,
    ) -> None:
        self.clock = clock
        self.inputs = inputs
        self.market = market
        self.settings = settings or DomsSettings()
        start_s = int(clock.time()) // QUARTER_S * QUARTER_S
        self.env = LiveEnvironment(start_s=start_s, inputs=inputs, settings=self.settings)
        self.controller = Controller(
            start_s=start_s,
            environment=self.env,
            forecaster=forecaster or Selector(),
            settings=self.settings.controller(),
        )
        self.counters = Counters()
        self.decisions: deque[dict[str, Any]] = deque(maxlen=self.settings.keep_decisions)
        self.orders: list[PlacedOrder] = []
        self.contracts: list[dict[str, Any]] = []
        self.last: Decision | None = None
        self._values: dict[int, float] = {}
        self._next_step = start_s + STEP_S  # the first interval DOMS judges ends here
        self._arrived = asyncio.Event()

    # -- input ---------------------------------------------------------------------------------------------------
    def receive(self, time_s: float, value: object) -> bool:
        """File a load value [MW] under its 5-minute interval (``time_s`` = its start); False if refused.

        Refused: not a finite number (counted ``rejected_values``), or for an interval already judged
        (``late_values``: the controller never rewrites the past).
        """
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.counters.rejected_values += 1
            log.warning("DOMS: load value refused (not a finite number): %r", value)
            return False
        start = int(time_s) // STEP_S * STEP_S
        if start + STEP_S < self._next_step:
            self.counters.late_values += 1
            return False
        self._values[start] = float(value)
        self.counters.values += 1
        if start + STEP_S == self._next_step:
            self._arrived.set()  # the interval DOMS waits for: judge it now, not at the end of the grace
        return True

    def handle(self, message: object) -> None:
        """Take an ``@update`` (or ``@transaction``) of the grid endpoint; other attributes are ignored."""
        items: tuple[tuple[Any, Any], ...] = ()
        if isinstance(message, UpdateMessage):
            items = ((message.path, message.attribute),)
        elif isinstance(message, TransactionMessage):
            items = message.items
        for path, attribute in items:
            if str(path) == self.settings.load_path:
                when = attribute.timestamp if attribute.timestamp is not None else self.clock.time() - STEP_S
                self.receive(when, attribute.value)

    # -- the cycle -------------------------------------------------------------------------------------------
    def point(self, interval_start: int) -> LivePoint:
        """The controller's point for ``[interval_start, + 5 min)``: the value received, or NaN (a gap)."""
        load = self._values.pop(interval_start, math.nan)
        for old in [t for t in self._values if t < interval_start]:
            del self._values[old]
        dayahead = self.inputs.dayahead_mw(interval_start)
        temp = float(self.env.weather.temperature_c(np.array([interval_start + STEP_S / 2.0]))[0])
        return LivePoint(interval_start, load, dayahead, temp)

    async def step(self, interval_start: int) -> Decision:
        """Judge one interval: refresh inputs, read the book before a plan, run the controller, act."""
        self.inputs.refresh()
        quarter_point = (interval_start - self.controller.start_s) % QUARTER_S // STEP_S
        if quarter_point == 2:
            await self._read_book()
            nxt = (interval_start - self.controller.start_s) // QUARTER_S + 1
            tradable = first_tradable_slot(self.clock.time(), self.settings.orders)
            self.env.lead_quarters = max(0, tradable - self.controller.start_s // QUARTER_S - nxt)
        point = self.point(interval_start)
        decision = await asyncio.to_thread(self.controller.step, point)
        self._record(point, decision)
        if decision.released:
            await self._revoke()
        if decision.kind == "plan":
            self.counters.plans += 1
            await self._place(decision)
            await self._refresh_orders()
        return decision

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Step every 5 minutes of the clock until cancelled or ``stop`` is set.

        An interval is judged as soon as its value has arrived and it is over, else ``grace_s`` after its end (a
        gap): on a fast simulated clock a busy event loop delays messages by simulated minutes, which must not
        read as missing data. A step that fails (a bug, the market's odd answer) is logged and counted; the next
        one runs (style.md 5).
        """
        stop = stop or asyncio.Event()
        while not stop.is_set():
            now = self.clock.time()
            ready = (self._next_step - STEP_S) in self._values and now >= self._next_step
            wait = self._next_step + self.settings.grace_s - now
            if not ready and wait > 0:
                self._arrived.clear()
                if (self._next_step - STEP_S) not in self._values:
                    await _first(self._arrived.wait(), self.clock.sleep(wait))
                else:
                    await self.clock.sleep(max(self._next_step - now, 0.0))
                continue
            interval = self._next_step - STEP_S
            self._next_step += STEP_S
            try:
                await self.step(interval)
            except Exception:  # top loop of the service: log, count, continue
                self.counters.step_errors += 1
                log.exception("DOMS: step of %s failed", interval)

    async def follow(self, messages: Any) -> None:
        """Feed :meth:`handle` from an async iterator of decoded messages (an application subscription)."""
        async for message in messages:
            self.handle(message)

    # -- records ---------------------------------------------------------------------------------------------
    def _record(self, point: LivePoint, decision: Decision) -> None:
        self.last = decision
        c = self.counters
        c.points += 1
        c.decisions += 1
        c.gaps += int(math.isnan(point.load_mw))
        c.stopped_points += int(decision.stopped)
        record = {
            "time": iso(point.time_s),
            **decision.record(),
            "inputs": {
                "load_mw": None if math.isnan(point.load_mw) else round(point.load_mw, 6),
                "dayahead_mw": round(point.dayahead_mw, 6),
                "temp_c": round(point.temp_c, 2),
            },
        }
        if decision.kind == "plan":
            offer = self.env.last_offer
            record["inputs"]["book_capacity_mw"] = (
                [] if offer is None else [round(float(v), 6) for v in offer.cap_mw[:8]]
            )
            record["inputs"]["book_price_eur_per_mwh"] = None if offer is None else round(offer.cost_eur_per_mwh, 3)
            record["inputs"]["lead_quarters"] = self.env.lead_quarters
        self.decisions.append(record)
        log.info("DOMS decision %s", json.dumps(record, separators=(",", ":")))

    # -- market ----------------------------------------------------------------------------------------------
    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """One request to FMAR; None when there is no market or it cannot be reached (counted, logged)."""
        if self.market is None:
            return None
        try:
            return await self.market.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.counters.market_errors += 1
            log.warning("DOMS: FMAR unreachable (%s %s): %s", method, path, exc)
            return None

    async def _read_book(self) -> None:
        response = await self._call("GET", "/orderbook")
        if response is None:
            return
        if response.status_code != 200:
            self.counters.market_errors += 1
            log.warning("DOMS: GET /orderbook -> %s %s", response.status_code, response.text[:200])
            return
        sell = response.json().get("sell")
        self.env.set_book(sell if isinstance(sell, list) else [])

    async def _place(self, decision: Decision) -> None:
        length = max((b.length for b in decision.issued), default=1)
        nxt = decision.quarter + 1
        first_slot = self.controller.start_s // QUARTER_S + nxt + self.env.lead_quarters
        rates = self.env.rates(nxt, length).short_eur_per_mwh  # those of the slots bought (lead applied)
        order = order_for(
            decision.time_s,
            decision.issued,
            first_slot=first_slot,
            short_eur_per_mwh=list(rates),
            policy=self.settings.orders,
        )
        if order is None:
            return
        await self.place(order)

    async def place(self, order: BuyOrder) -> PlacedOrder:
        """Post a buy order (idempotency key from the decision) and keep its answer."""
        placed = PlacedOrder(order)
        self.orders.append(placed)
        response = await self._call("POST", "/orders/buy", json=order.body(), headers={"Idempotency-Key": order.key})
        now = self.clock.time()
        if response is None:
            placed.status = "unsent" if self.market is None else "failed"
        elif response.status_code in (200, 201):
            body = response.json()
            placed.order_id = str(body.get("orderId", ""))
            placed.status = str(body.get("status", ""))
            placed.reason = str(body.get("reason") or "")
        else:
            placed.status = "refused"
            placed.reason = _error_code(response)
        placed.events.append((now, placed.status))
        if placed.status in ("accepted", "matched"):
            self.counters.orders_placed += 1
            log.info("DOMS: buy order %s placed: %s", placed.order_id, json.dumps(order.body()))
        else:
            self.counters.orders_refused += 1
            log.warning("DOMS: buy order refused: %s %s", placed.status, placed.reason)
        return placed

    async def _revoke(self) -> None:
        for placed in to_revoke(self.orders, now_s=self.clock.time(), policy=self.settings.orders):
            response = await self._call("DELETE", f"/orders/{placed.order_id}")
            if response is None:
                continue
            if response.status_code == 200:
                placed.status = "revoked"
                self.counters.orders_revoked += 1
            else:
                placed.reason = _error_code(response)  # not_revocable: matched, it is delivered
            placed.events.append((self.clock.time(), placed.status))

    async def _refresh_orders(self) -> None:
        """Follow the open orders' status and DOMS's contracts (for the state API)."""
        for placed in [p for p in self.orders if p.open]:
            response = await self._call("GET", f"/orders/{placed.order_id}")
            if response is not None and response.status_code == 200:
                placed.status = str(response.json().get("status", placed.status))
        response = await self._call("GET", "/contracts")
        if response is not None and response.status_code == 200:
            contracts = response.json().get("contracts")
            self.contracts = contracts if isinstance(contracts, list) else []

    # -- state -----------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """``GET /api/v1/state``: imbalance now, forecast, planned activations, stopped and why, orders, trades."""
        d = self.last
        now = self.clock.time()
        q0 = self.controller.start_s // QUARTER_S
        plans = [p for p in self.decisions if p["kind"] == "plan" and p["issued"]][-8:]
        blocks = [
            {
                "decided": p["time"],
                "offer": b["offer"],
                "start": slot_iso(q0 + int(b["start"])),
                "marketStart": slot_iso(q0 + int(b["start"]) + int(p["inputs"].get("lead_quarters", 0))),
                "quarters": int(b.get("length", 1)),
                "powerMw": b["power_mw"],
            }
            for p in plans
            for b in p["issued"]
        ]
        traded = sum(float(c.get("energyKwh", 0.0)) for c in self.contracts)
        paid = sum(float(c.get("energyKwh", 0.0)) * float(c.get("priceEurPerKwh", 0.0)) for c in self.contracts)
        return {
            "time": iso(int(now)),
            "scale": self.settings.scale,
            "deadbandMw": self.controller.settings.deadband_mw,
            "lastPoint": None if d is None else iso(d.time_s),
            "imbalanceNowMw": None if d is None else _finite(d.estimate_mw),
            "projectedMw": None if d is None else _finite(d.projected_mw),
            "forecastMw": [] if d is None else [round(v, 6) for v in d.forecast_mw],
            "model": "" if d is None else d.model,
            "stopped": bool(d and d.stopped),
            "reason": "" if d is None else d.reason,
            "acting": bool(d and d.acting),
            "plannedActivations": blocks,
            "orders": [p.record() for p in self.orders[-50:]],
            "trades": {"count": len(self.contracts), "energyKwh": round(traded, 4), "costEur": round(paid, 4)},
            "dayahead": {"droppedRows": self.inputs.dropped_rows, "badFiles": self.inputs.bad_files},
            "counters": vars(self.counters).copy(),
        }


async def _first(*waits: Any) -> None:
    """Wait until the first of ``waits`` (coroutines) is done; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def iso(time_s: float) -> str:
    """ISO 8601 UTC with ``Z`` [whole seconds]."""
    return datetime.fromtimestamp(int(time_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _finite(value: float) -> float | None:
    return round(value, 6) if math.isfinite(value) else None


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}"


__all__ = ["GRID_ENDPOINT", "LOAD_PATH", "Counters", "DomsService", "DomsSettings", "LiveEnvironment"]
