"""``goflex demo``: the pilot on embedded defaults, one command (DESIGN.md 5.2).

What runs: a private CA (created on first use in the demo directory), the embedded MQTT broker with mutual TLS
and the endpoint ACL, the platform (ingest into SQLite + the HTTP API) in this process, and in a child process
(:mod:`goflex.sim.process`: the gateways get a core of their own, as on their own Pis) a fleet of Direct
Control houses of the pilot's mix (:func:`goflex.twin.fleet_generator.pilot_fleet`): each house is the twin's
physics (boiler, heat pump or heaters, base load, PV) read by its own gateway program through emulated devices
(CII frames on a pseudo-terminal, Z-Wave reports, relays), with its own certificate and durable outbox, on a
simulated clock running ``speed`` times faster than real time. A small "operator" blocks one house's water
heater through the API for an hour every three simulated hours, so the whole command loop (API -> ``@set`` ->
gateway -> relay -> physics -> meter -> ``@update`` -> history) is visible.

The trading chain runs too (:mod:`goflex.demo.trading`, issue 4 section 6): the market (FMAR) and the aggregator
(FMAN) on their own ports, the Direct Control FOA for all the houses (relay ``@set`` through the broker with its own
certificate ``foa`` and WRITE on the houses only) and an interim scripted DSO buying less consumption every
simulated hour. A live summary (houses, ingest, and the trading: offers, bids, trades, schedules, baselines) is
drawn on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from goflex.broker.acl import AccessPolicy, Grant, api_grants, ingest_grants
from goflex.broker.embedded import EmbeddedBroker, ssl_context_from_pki
from goflex.broker.embedded.runner import AccessPolicyAuthorizer
from goflex.cloudio.application import Application
from goflex.common import GoflexError, SimClock
from goflex.common.logs import RedactingFilter
from goflex.demo.doms_buyer import DomsBuyer, doms_grants, prepare_doms_pki
from goflex.demo.grid_meter import HousesEnergy
from goflex.demo.trading import (
    FOA_IDENTITY,
    Buyer,
    ScriptedDso,
    TradingChain,
    TradingOptions,
    TradingSnapshot,
    foa_grants,
)
from goflex.flex.fman.bids import BidPricing
from goflex.flex.fman.settings import FmanSettings
from goflex.flex.foa.iot_devices import CloudioHouses
from goflex.pki.authority import CertificateAuthority
from goflex.pki.names import CertificateKind
from goflex.serve import Platform
from goflex.sim import FleetOptions, prepare_pki
from goflex.sim.process import FleetProcess, FleetStatus
from goflex.sim.runner import BROKER_IDENTITY
from goflex.twin.fleet_generator import pilot_fleet
from goflex.twin.house import HouseSpec

log = logging.getLogger(__name__)
OPERATOR_PERIOD_S = 3 * 3600.0  # simulated seconds between two blocking orders
BLOCK_S = 3600.0  # how long the operator keeps the water heater off [simulated s]


class DemoError(GoflexError):
    """The demo cannot go on (the message says why and where to look)."""


@dataclass(frozen=True)
class DemoOptions:
    """Options of ``goflex demo``."""

    houses: int = 20
    speed: float = 10.0
    hours: float | None = None
    port: int = 8080
    web: bool = True
    directory: Path = Path("goflex-data/demo")
    seed: int = 1
    trading: bool = True
    buyer: str = "doms"  # "doms" (the live DOMS) or "scripted" (a fixed DSO: trades in short test runs)


async def wait_for_attribute(client: httpx.AsyncClient, path: str, clock: SimClock, poll_s: float = 10.0) -> None:
    """Poll ``GET /data/{path}`` until the API knows the attribute (the house has announced itself).

    At high speeds the first command would otherwise come before the gateway's ``@online`` reached the platform,
    and the API answers 404 for an endpoint it has not seen yet.

    Args:
        client: the API client (with credentials).
        path: ``house/node/object/attribute``.
        clock: the demo's clock.
        poll_s: simulated seconds between two polls [s].
    """
    while True:
        try:
            response = await client.get(f"/data/{path}")
            if response.status_code == 200:
                return
            log.debug("operator: %s not there yet (%s)", path, response.status_code)
        except httpx.HTTPError as exc:  # the API is still starting
            log.debug("operator: API not reachable yet: %s", exc)
        await clock.sleep(poll_s)


async def operator(api_url: str, password: str, house: str, relay: int, clock: SimClock) -> None:
    """Block ``house``'s ``relay`` (its water heater's) for an hour every three hours, through the HTTP API."""
    path = f"{house}/gateway/relay{relay}Control/parameter"
    auth = httpx.BasicAuth("admin", password)
    async with httpx.AsyncClient(base_url=api_url, auth=auth, timeout=10) as client:
        await clock.sleep(600)
        await wait_for_attribute(client, path, clock)
        while True:
            for value, hold in (("false", BLOCK_S), ("true", OPERATOR_PERIOD_S - BLOCK_S)):
                response = await client.put(f"/data/{path}", params={"value": value})
                if response.status_code >= 400:
                    log.warning("operator: PUT %s -> %s %s", path, response.status_code, response.text[:200])
                await clock.sleep(hold)


def _summary(
    status: FleetStatus | None,
    *,
    clock: SimClock,
    platform: Platform,
    broker: EmbeddedBroker,
    rate: float,
    api: str | None,
) -> Table:
    table = Table(title=f"goflex demo — simulated {clock.now():%Y-%m-%d %H:%M:%S} UTC (x{clock.speed:g})")
    table.add_column("what")
    table.add_column("value", justify="right")
    stats = platform.ingest.metrics.snapshot() if platform.ingest is not None else None
    if status is None:
        table.add_row("houses", "starting...")
    else:
        table.add_row("houses online", f"{status.online} / {status.summary.houses}")
        table.add_row("values published by the gateways", f"{status.published:,}")
    table.add_row("values stored", f"{stats.stored if stats else 0:,}")
    table.add_row("values stored per second (real)", f"{rate:,.0f}")
    table.add_row("messages rejected", f"{stats.rejected if stats else 0:,}")
    if status is not None:
        physics = status.summary
        table.add_row("relays open (heating blocked)", str(physics.relays_open))
        table.add_row(
            "tank temperature min / mean / max (C)",
            f"{physics.tank_min_c:.1f} / {physics.tank_mean_c:.1f} / {physics.tank_max_c:.1f}",
        )
        table.add_row(
            "room temperature min / mean / max (C)",
            f"{physics.room_min_c:.1f} / {physics.room_mean_c:.1f} / {physics.room_max_c:.1f}",
        )
        heating = f"{physics.boilers_heating} / {physics.space_heaters_running}"
        table.add_row("boilers heating / space heaters running", heating)
        table.add_row("fleet load (kW) / outdoor (C)", f"{physics.total_power_w / 1000:.1f} / {physics.outdoor_c:.1f}")
    table.add_row("broker connections", str(broker.stats.connections))
    if api:
        table.add_row("API", api)
    return table


def _trading_rows(table: Table, f: TradingSnapshot) -> None:
    table.add_row(
        "FlexOffers made / accepted / rejected", f"{f.offers_made} / {f.offers_accepted} / {f.offers_rejected}"
    )
    table.add_row("bids (FMAN -> FMAR) / scheduled", f"{f.bids_submitted} / {f.bids_scheduled}")
    table.add_row("buy orders (DSO)", str(f.buy_orders))
    table.add_row("trades / kWh / EUR", f"{f.trades} / {f.traded_kwh:.2f} / {f.traded_eur:.3f}")
    table.add_row("schedules received / executed / baselines", f"{f.schedules} / {f.metered} / {f.baselines}")
    table.add_row("relay commands / comfort overrides", f"{f.commands} / {f.overrides}")


def _final_trading(console: Console, f: TradingSnapshot) -> None:
    console.print(
        f"trading: {f.offers_made} FlexOffers ({f.offers_accepted} accepted), {f.bids_submitted} bids, "
        f"{f.buy_orders} buy orders, {f.trades} trades ({f.traded_kwh:.2f} kWh, {f.traded_eur:.3f} EUR), "
        f"{f.schedules} schedules ({f.metered} executed and metered), {f.baselines} baselines",
        soft_wrap=True,
    )
    if f.buyer:
        console.print(f.buyer, soft_wrap=True)


def _log_to_file(path: Path) -> None:
    """Send the services' log lines to ``path``; the terminal keeps warnings only, under the live summary."""
    root = logging.getLogger()
    for handler in root.handlers:
        handler.setLevel(max(handler.level, logging.WARNING))
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    file_handler.addFilter(RedactingFilter())
    root.addHandler(file_handler)


async def run_demo(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo until Ctrl-C or ``options.hours`` of simulated time."""
    console = console or Console(stderr=True)
    directory = options.directory
    directory.mkdir(parents=True, exist_ok=True)
    _log_to_file(directory / "demo.log")
    specs = pilot_fleet(options.houses, seed=options.seed)
    names = [spec.name for spec in specs]
    pki = await asyncio.to_thread(prepare_pki, directory, names)
    grants = await asyncio.to_thread(_broker_grants, pki, names, trading=options.trading, buyer=options.buyer)
    started = datetime.now(UTC)
    clock = SimClock(started, speed=options.speed)
    broker = EmbeddedBroker(
        host="127.0.0.1",
        port=0,
        ssl_context=ssl_context_from_pki(pki, BROKER_IDENTITY),
        authorizer=AccessPolicyAuthorizer(AccessPolicy(grants)),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with broker:
        broker_url = f"mqtts://localhost:{broker.port}"
        platform = Platform(
            db_url=f"sqlite:///{directory / 'goflex.db'}",
            broker_url=broker_url,
            pki_dir=pki,
            api_port=options.port,
            clock=clock,
            serve_api=options.web,
        )
        await platform.start()
        days = (options.hours or 24 * 30) / 24 + 1
        fleet_options = FleetOptions(
            broker_url=broker_url, pki_dir=pki, data_dir=directory, seed=options.seed, days=days
        )
        fleet = FleetProcess(
            specs, fleet_options, start=clock.now(), speed=options.speed, log_file=directory / "demo.log"
        )
        await fleet.start()
        api = platform.api_url if options.web else None
        tasks = _operator_tasks(api, pki, specs, clock)
        console.print(f"[bold]goflex demo[/]: {options.houses} houses, x{options.speed:g}, data and log in {directory}")
        if api:
            console.print(f"API: {api}/data/{names[0]}  (user admin, password in {pki.parent / 'admin-password.txt'})")
        end = clock.time() + options.hours * 3600 if options.hours else None
        trading: TradingChain | None = None
        last: TradingSnapshot | None = None
        try:
            async with contextlib.AsyncExitStack() as stack:
                if options.trading:
                    trading = await stack.enter_async_context(
                        _trading(options, clock, specs=specs, pki=pki, broker_url=broker_url, console=console)
                    )
                await _live(
                    fleet=fleet,
                    clock=clock,
                    platform=platform,
                    broker=broker,
                    api=api,
                    console=console,
                    stop=stop,
                    end=end,
                    tasks=tasks,
                    trading=trading,
                )
                last = await _trading_snapshot(trading)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await fleet.stop()  # the gateways close their outboxes before the platform goes
            await platform.stop()
        _final(console, platform, directory, names[0], (started, clock.now() + timedelta(seconds=1)))
        if last is not None:
            _final_trading(console, last)
    return 0


def _operator_tasks(api: str | None, pki: Path, specs: list[HouseSpec], clock: SimClock) -> list[asyncio.Task[None]]:
    """The blocking "operator" (through the API, so only when it is served)."""
    if api is None:
        return []
    password = (pki.parent / "admin-password.txt").read_text(encoding="utf-8").strip()
    # the first house with an electric water heater on a relay (seed 3.2.5.4 rule 5)
    target = next((spec for spec in specs if spec.dhw_relay is not None), specs[0])
    relay = target.dhw_relay or target.space_heating_relay or 1
    return [asyncio.create_task(operator(api, password, target.name, relay, clock))]


def _broker_grants(pki: Path, names: list[str], *, trading: bool, buyer: str) -> list[Grant]:
    """The platform services' grants, and with trading the FOA's: WRITE on the demo's houses, nothing else.

    The FOA's application certificate is created once, then reused like the houses'.
    """
    grants = [*ingest_grants(), *api_grants()]
    if trading:
        if not (pki / f"{FOA_IDENTITY}.crt").is_file():
            CertificateAuthority.load(pki).issue(FOA_IDENTITY, CertificateKind.APPLICATION)
        grants += foa_grants(FOA_IDENTITY, names)
        if buyer == "doms":
            prepare_doms_pki(pki)
            grants += doms_grants()
    return grants


@contextlib.asynccontextmanager
async def _trading(
    options: DemoOptions, clock: SimClock, *, specs: list[HouseSpec], pki: Path, broker_url: str, console: Console
) -> AsyncIterator[TradingChain]:
    """FMAR, FMAN, the Direct Control FOA (through the broker) and the DSO buyer, on the demo's clock."""
    app = Application(
        FOA_IDENTITY,
        broker=broker_url,
        ca_file=pki / "ca.crt",
        cert_file=pki / f"{FOA_IDENTITY}.crt",
        key_file=pki / f"{FOA_IDENTITY}.key",
        clock=clock,
    )
    trading_options = TradingOptions(
        directory=options.directory,
        # one argon2 check per token per real minute, however fast the simulated clock runs
        token_cache_s=60.0 * max(options.speed, 1.0),
        # A bid's schedule must reach the FOA before the offer's deadline: 10 min between the bid's and the
        # offers' deadlines absorb the pull and heartbeat periods and the event loop's lag at high speeds.
        fman=FmanSettings(bid_interval_s=60.0, pull_interval_s=30.0, pricing=BidPricing(delivery_margin_s=600.0)),
    )
    async with app:
        houses = CloudioHouses(app, specs, clock)
        await houses.start()
        try:
            buyer: Buyer = (
                DomsBuyer(
                    broker_url,
                    pki,
                    options.directory,
                    houses=options.houses,
                    seed=options.seed,
                    token_cache_s=60.0 * max(options.speed, 1.0),
                    fleet=HousesEnergy.of(houses, specs),
                )
                if options.buyer == "doms"
                else ScriptedDso()
            )
            async with TradingChain(
                trading_options, clock, houses=specs, devices=houses, reader=houses, buyer=buyer
            ) as chain:
                console.print(
                    f"market (FMAR): {chain.market_url}/docs   aggregator (FMAN): {chain.fman_url}/docs   "
                    f"(operator tokens in {options.directory})",
                    soft_wrap=True,
                )
                yield chain
        finally:
            await houses.stop()


async def _trading_snapshot(trading: TradingChain | None) -> TradingSnapshot | None:
    if trading is None:
        return None
    try:
        return await asyncio.wait_for(trading.snapshot(), 5.0)
    except (TimeoutError, httpx.HTTPError) as exc:
        log.warning("trading figures unavailable: %s", exc)
        return None


async def _live(
    *,
    fleet: FleetProcess,
    clock: SimClock,
    platform: Platform,
    broker: EmbeddedBroker,
    api: str | None,
    console: Console,
    stop: asyncio.Event,
    end: float | None,
    tasks: list[asyncio.Task[None]],
    trading: TradingChain | None = None,
) -> None:
    last_stored, last_t = 0, time.monotonic()
    rate = 0.0
    figures: TradingSnapshot | None = None
    with Live(console=console, refresh_per_second=2, transient=False) as live:
        while not stop.is_set() and (end is None or clock.time() < end):
            for task in tasks:
                if task.done():
                    task.result()
            if not fleet.running:
                raise DemoError("the fleet process ended early: see demo.log")
            if trading is not None:
                trading.check()
                figures = await _trading_snapshot(trading) or figures
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            stats = platform.ingest.metrics.snapshot() if platform.ingest else None
            stored = stats.stored if stats else 0
            now = time.monotonic()
            rate = (stored - last_stored) / max(now - last_t, 1e-6)
            last_stored, last_t = stored, now
            table = _summary(fleet.status, clock=clock, platform=platform, broker=broker, rate=rate, api=api)
            if figures is not None:
                _trading_rows(table, figures)
            live.update(table)


def _final(
    console: Console, platform: Platform, directory: Path, first: str, window: tuple[datetime, datetime]
) -> None:
    stats = platform.ingest.metrics.snapshot() if platform.ingest else None
    console.print(f"stored {stats.stored if stats else 0:,} values; history in {directory / 'goflex.db'}")
    # The simulated clock runs ahead of real time: the query's default window (the 24 h before the real now)
    # would miss the values stamped in the simulated future, so the hint names the simulated window.
    since, until = (f"{t:%Y-%m-%dT%H:%M:%SZ}" for t in window)
    console.print(
        f"try: goflex history query {first}/SmartMeterTechnical/obis_1_0_1_7_0_255_2/datapoint "
        f"--db sqlite:///{directory / 'goflex.db'} --since {since} --until {until} --json",
        soft_wrap=True,  # one line the user can copy
    )


__all__ = ["DemoOptions", "run_demo"]
