"""The trading chain in one process: FMAR, FMAN, the Direct Control FOA and a DSO buyer on one clock (issue 4 s. 6).

EMS -> FOA -> FMAN -> FMAR <- DSO (seed 1.2, Figure 2). :class:`TradingChain` starts the market
(:mod:`goflex.flex.fmar`) and the aggregator (:mod:`goflex.flex.fman`, a ``seller`` participant on the market) on
real uvicorn servers with their own databases, the Direct Control FOA (:class:`goflex.flex.foa.agent.
DirectControlAgent`, one agent for all houses, seed 2.2) against FMAN's HTTP API, and a :class:`Buyer` placing buy
orders on the market's HTTP API. Everything runs on the caller's clock (the demo's ``SimClock``), so an hour of
trading takes seconds.

The demo's buyer is the live DOMS (:class:`goflex.demo.doms_buyer.DomsBuyer`: a grid endpoint replays a scaled
balance group's load through the broker, DOMS buys the flexibility its controller decides on). :class:`ScriptedDso`
stays as a simple stand-in for tests: every simulated hour it asks for less consumption (``down``) in the coming
quarter hours at a maximum price. The FOA reaches the houses
through whatever :class:`~goflex.flex.foa.devices.DeviceCommands` it is given: the demo passes
:class:`~goflex.flex.foa.iot_devices.CloudioHouses` (relay ``@set`` through the broker, :func:`foa_grants`), tests
may pass :class:`~goflex.flex.foa.devices.TwinHouses`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from goflex.broker.acl import EndpointPermission, Grant, grants_for_application
from goflex.common.clock import Clock
from goflex.flex.fman.app import create_app as create_fman
from goflex.flex.fman.market_client import MarketClient
from goflex.flex.fman.repository import FmanStore, migrate
from goflex.flex.fman.runner import add_principal, write_secret
from goflex.flex.fman.settings import FmanSettings
from goflex.flex.fmar.app import create_app as create_fmar
from goflex.flex.fmar.market import MarketSettings
from goflex.flex.fmar.repository import MarketRepository, migrate_market
from goflex.flex.foa.agent import AgentSettings, DirectControlAgent
from goflex.flex.foa.devices import DeviceCommands, HouseReader
from goflex.flex.foa.fman_client import FmanClient
from goflex.store import Database, open_database
from goflex.twin.house import HouseSpec

log = logging.getLogger(__name__)

SLOT_S = 900  # market time unit [s] (trading contract)
FMAN_PARTICIPANT = "goflex-fman"
FOA_AGENT = "goflex-foa-dc"
FOA_IDENTITY = "foa"


def foa_grants(identity: str, houses: Sequence[str]) -> list[Grant]:
    """MQTT grants of the FOA's application certificate: WRITE on its houses (relay ``@set``, and their updates).

    Deny by default: nothing but the houses the agent represents (seed 2.2: delegated trading).
    """
    return [g for house in houses for g in grants_for_application(identity, house, EndpointPermission.WRITE)]


def _iso(time: datetime) -> str:
    return time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Buyer(Protocol):
    """Places buy orders on FMAR as a ``buyer`` participant (a DSO or BRP; the DOMS live service later).

    Attributes:
        participant_id: its id at FMAR (the chain registers it with role ``buyer``).
    """

    participant_id: str

    async def run(self, market: httpx.AsyncClient, clock: Clock) -> None:
        """Trade until cancelled; ``market`` is authenticated, based at FMAR's ``/api/v1``."""
        ...

    def summary(self) -> str:
        """One line on what the buyer did and where to see more (the demo's summary)."""
        ...


@dataclass
class ScriptedDso:
    """Interim DSO buyer: every ``period_s`` a down-flex buy order for the next quarter hours at a max price.

    Stands in for the DOMS live service (which will decide what to buy from its grid forecast): it asks for
    ``energy_kwh_per_slot`` less consumption in each of the ``horizon_slots`` slots that start after the gate
    closure [kWh], at most ``max_price_eur_per_kwh`` (pay-as-bid: it pays the sellers' asked prices), partial fills
    allowed. Orders rest in the book, so bids arriving later still match them.
    """

    participant_id: str = "dso-scripted"
    period_s: float = 3600.0
    horizon_slots: int = 16
    energy_kwh_per_slot: float = 5.0
    max_price_eur_per_kwh: float = 0.10
    gate_closure_s: float = 900.0
    margin_s: float = 300.0
    retry_s: float = 120.0
    location_id: str | None = None
    orders: int = 0
    refused: int = 0

    def order(self, now: datetime) -> dict[str, Any]:
        """The buy order placed at ``now``: its first slot starts after the gate closure + ``margin_s``.

        The margin covers the time the order takes to reach the market (on a fast simulated clock a few real
        milliseconds are simulated seconds); without it an order placed just before a slot boundary is refused
        ``gate_closed``.
        """
        first = -(-int(now.timestamp() + self.gate_closure_s + self.margin_s) // SLOT_S) * SLOT_S
        return {
            "direction": "down",
            "locationId": self.location_id,
            "maxPriceEurPerKwh": self.max_price_eur_per_kwh,
            "slots": [
                {"start": _iso(datetime.fromtimestamp(first + k * SLOT_S, UTC)), "energyKwh": self.energy_kwh_per_slot}
                for k in range(self.horizon_slots)
            ],
            "allowPartial": True,
        }

    def summary(self) -> str:
        """See :class:`Buyer`."""
        return f"scripted DSO: {self.orders} buy orders, {self.refused} refused"

    async def run(self, market: httpx.AsyncClient, clock: Clock) -> None:
        """See :class:`Buyer`."""
        while True:
            placed = False
            try:
                answer = await market.post(
                    "/orders/buy", json=self.order(clock.now()), headers={"Idempotency-Key": uuid.uuid4().hex}
                )
                placed = answer.status_code == 201 and answer.json().get("status") != "rejected"
                if not placed:
                    log.warning("scripted DSO: buy order refused: %s %s", answer.status_code, answer.text[:200])
            except httpx.HTTPError as exc:
                log.warning("scripted DSO: FMAR unreachable: %s", exc)
            if placed:
                self.orders += 1
            else:
                self.refused += 1
            # a refused order (e.g. gate_closed after a stall of the event loop) is tried again soon
            await clock.sleep(self.period_s if placed else min(self.period_s, self.retry_s))


@dataclass(frozen=True)
class TradingSnapshot:
    """What the chain has done so far (the demo's summary)."""

    offers_made: int = 0
    offers_accepted: int = 0
    offers_rejected: int = 0
    bids_submitted: int = 0
    bids_scheduled: int = 0
    buy_orders: int = 0
    trades: int = 0
    traded_kwh: float = 0.0
    traded_eur: float = 0.0
    schedules: int = 0
    baselines: int = 0
    commands: int = 0
    metered: int = 0
    overrides: int = 0
    buyer: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain values (JSON)."""
        return asdict(self)


@dataclass(frozen=True)
class TradingOptions:
    """Where and how the chain runs.

    Attributes:
        directory: the databases (``market.db``, ``fman.db``, fresh per run) and the operator tokens of both
            services (``market-operator-token.txt``, ``fman-operator-token.txt``, mode 0600).
        market_db_url, fman_db_url: other databases (PostgreSQL) instead of the SQLite files.
        host: where the two APIs listen.
        market_port, fman_port: their ports (0: any free port).
        market: the market's rules.
        fman: FMAN's settings (pacing, pricing, aggregation).
        agent: the FOA's settings.
        hasher: argon2 parameters of the tokens (tests pass cheap ones).
        token_cache_s: how long FMAR and FMAN remember a verified token [s of the clock]; scale it with the speed
            of a simulated clock, or every request pays an argon2 verification.
    """

    directory: Path
    market_db_url: str | None = None
    fman_db_url: str | None = None
    host: str = "127.0.0.1"
    market_port: int = 0
    fman_port: int = 0
    market: MarketSettings = field(default_factory=MarketSettings)
    fman: FmanSettings = field(default_factory=lambda: FmanSettings(pull_interval_s=60.0))
    agent: AgentSettings = field(default_factory=AgentSettings)
    hasher: PasswordHasher | None = None
    token_cache_s: float = 60.0


class _Server(uvicorn.Server):
    """uvicorn inside a program that owns SIGINT/SIGTERM itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve(app: FastAPI, host: str, port: int) -> AsyncIterator[str]:
    """Serve ``app`` (lifespan on) until the block ends; yields its base URL (``http://host:port``)."""
    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(), name=f"uvicorn {app.title}")
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"{app.title} did not start")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await task


class TradingChain:
    """FMAR + FMAN + the Direct Control FOA + a buyer, as an async context manager (see the module docstring).

    Args:
        options: where and how.
        clock: the platform clock shared by every service.
        houses: the houses the FOA represents.
        devices, reader: how the FOA reaches them.
        buyer: places buy orders (None: the caller buys through :attr:`tokens` ``[buyer id]``).
        buyer_id: the buyer's participant id when ``buyer`` is None.
    """

    def __init__(
        self,
        options: TradingOptions,
        clock: Clock,
        *,
        houses: Sequence[HouseSpec],
        devices: DeviceCommands,
        reader: HouseReader,
        buyer: Buyer | None = None,
        buyer_id: str = "dso",
    ) -> None:
        self.options = options
        self.clock = clock
        self.houses = list(houses)
        self.buyer = buyer
        self.buyer_id = buyer.participant_id if buyer is not None else buyer_id
        self._devices, self._reader = devices, reader
        self.tokens: dict[str, str] = {}
        self.market_url = ""
        self.fman_url = ""
        self.agent: DirectControlAgent | None = None
        self.fmar_app: FastAPI | None = None
        self.fman_app: FastAPI | None = None
        self._stack = contextlib.AsyncExitStack()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._observer: httpx.AsyncClient | None = None

    async def __aenter__(self) -> TradingChain:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10.0)
        await self._stack.aclose()

    def _db_url(self, given: str | None, name: str) -> str:
        if given is not None:
            return given
        path = self.options.directory / name
        path.unlink(missing_ok=True)  # a fresh market and portfolio per run: tokens are shown once
        return f"sqlite:///{path}"

    def _migrate(self) -> tuple[Database, Database]:
        """Open and migrate both databases (one after the other: Alembic's context is process-global)."""
        o = self.options
        market_db = open_database(self._db_url(o.market_db_url, "market.db"))
        fman_db: Database | None = None
        try:
            migrate_market(market_db)
            fman_db = open_database(self._db_url(o.fman_db_url, "fman.db"))
            migrate(fman_db)
        except BaseException:
            market_db.close()
            if fman_db is not None:
                fman_db.close()
            raise
        return market_db, fman_db

    def _prepare_market(self, db: Database, hasher: PasswordHasher) -> FastAPI:
        """Build the market's app, register FMAN (seller) and the buyer (in a thread: argon2 hashes)."""
        operator_file = self.options.directory / "market-operator-token.txt"
        settings = replace(self.options.market, token_cache_s=self.options.token_cache_s)
        app = create_fmar(MarketRepository(db), self.clock, settings, hasher=hasher, operator_token_file=operator_file)
        market = app.state.market
        self.tokens["operator@fmar"] = operator_file.read_text(encoding="utf-8").strip()
        self.tokens["fman@fmar"] = market.add_participant(FMAN_PARTICIPANT, ["seller"], name="goflex FMAN")
        self.tokens[self.buyer_id] = market.add_participant(self.buyer_id, ["buyer"], name="DSO")
        return app

    def _prepare_fman(self, store: FmanStore, hasher: PasswordHasher) -> None:
        """Register the FOA (agent) and an operator at FMAN (in a thread: argon2 hashes)."""
        now = self.clock.now()
        self.tokens["foa@fman"] = add_principal(store, hasher, FOA_AGENT, role="agent", now=now)
        self.tokens["operator@fman"] = add_principal(store, hasher, "operator", role="operator", now=now)
        write_secret(self.options.directory / "fman-operator-token.txt", self.tokens["operator@fman"])

    async def _start(self) -> None:
        o, stack = self.options, self._stack
        o.directory.mkdir(parents=True, exist_ok=True)
        hasher = o.hasher or PasswordHasher()
        market_db, fman_db = await asyncio.to_thread(self._migrate)
        stack.callback(market_db.close)
        stack.callback(fman_db.close)
        store = FmanStore(fman_db)
        # Each token is an argon2 hash (~0.5 s): both services register theirs at once, off the event loop.
        fmar_app, _ = await asyncio.gather(
            asyncio.to_thread(self._prepare_market, market_db, hasher),
            asyncio.to_thread(self._prepare_fman, store, hasher),
        )
        self.fmar_app = fmar_app
        self.market_url = await stack.enter_async_context(serve(fmar_app, o.host, o.market_port))
        client = MarketClient(f"{self.market_url}/api/v1", self.tokens["fman@fmar"])
        stack.push_async_callback(client.close)
        self.fman_app = create_fman(
            store,
            self.clock,
            o.fman,
            market=client,
            hasher=hasher,
            background=True,
            token_cache_s=o.token_cache_s,
        )
        self.fman_url = await stack.enter_async_context(serve(self.fman_app, o.host, o.fman_port))

        fman = await stack.enter_async_context(FmanClient(self.fman_url, self.tokens["foa@fman"]))
        self.agent = DirectControlAgent(
            houses=self.houses,
            fman=fman,
            devices=self._devices,
            reader=self._reader,
            clock=self.clock,
            settings=o.agent,
        )
        self._tasks.append(asyncio.create_task(self.agent.run(self._stop), name="foa"))
        self._observer = await stack.enter_async_context(self.client("operator@fmar"))
        if self.buyer is not None:
            buyer_client = await stack.enter_async_context(self.client(self.buyer_id))
            self._tasks.append(asyncio.create_task(self.buyer.run(buyer_client, self.clock), name="buyer"))

    def client(self, who: str, *, service: str = "fmar") -> httpx.AsyncClient:
        """An HTTP client of FMAR (or FMAN) with ``tokens[who]``, based at ``/api/v1``."""
        base = self.market_url if service == "fmar" else self.fman_url
        return httpx.AsyncClient(
            base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {self.tokens[who]}"}, timeout=10.0
        )

    def check(self) -> None:
        """Raise what ended a background task early (the FOA or the buyer)."""
        for task in self._tasks:
            if task.done() and not task.cancelled():
                task.result()

    async def snapshot(self) -> TradingSnapshot:
        """The chain's figures: the FOA's counters, FMAN's bids, FMAR's public trade history.

        Raises:
            httpx.HTTPError: FMAR did not answer.
        """
        assert self._observer is not None
        assert self.agent is not None
        assert self.fman_app is not None
        response = await self._observer.get("/trades")
        response.raise_for_status()
        trades = response.json()["trades"]
        fman = self.fman_app.state.manager.counters
        counters = self.agent.counters
        return TradingSnapshot(
            offers_made=counters.offers_made,
            offers_accepted=counters.offers_accepted,
            offers_rejected=counters.offers_rejected,
            bids_submitted=fman["bids_submitted"],
            bids_scheduled=fman["bids_scheduled"],
            buy_orders=getattr(self.buyer, "orders", 0),
            trades=len(trades),
            traded_kwh=sum(float(t["energyKwh"]) for t in trades),
            traded_eur=sum(float(t["energyKwh"]) * float(t["priceEurPerKwh"]) for t in trades),
            schedules=counters.schedules,
            baselines=counters.baselines,
            commands=counters.commands,
            metered=counters.metered,
            overrides=counters.overrides,
            buyer=self.buyer.summary() if self.buyer is not None else "",
        )


__all__ = [
    "Buyer",
    "ScriptedDso",
    "TradingChain",
    "TradingOptions",
    "TradingSnapshot",
    "foa_grants",
    "serve",
]
