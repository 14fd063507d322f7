"""DOMS as the demo's buyer: a scaled "demo balance group", its grid meter and the live DOMS (issue 5 section 5).

What runs (:class:`DomsBuyer`, a :class:`goflex.demo.trading.Buyer`):

* a pilot scenario (``goflex doms scenario --scale pilot``, 7 days, generated once in ``<demo dir>/doms-scenario``)
  replayed at the demo clock's weekday and time of day;
* the grid endpoint ``goflex-grid-tg8000`` (:mod:`goflex.demo.grid_meter`) publishing its load through the
  embedded broker with its own certificate;
* the live DOMS (:mod:`goflex.doms.live_runner`) reading that load with its application certificate ``doms``
  (READ on the grid endpoint only, :func:`doms_grants`), buying on FMAR as participant ``dso-doms``, and serving
  its state API on a free port (token in ``doms-operator-token.txt``, mode 0600).

**Scale.** The pilot's balance group is about 75 MW with imbalances of a few MW and a 1 MW dead band; the demo's
10-20 houses can shed tens of kW. The demo therefore trades for a *demo balance group*: the scenario multiplied by
``houses / 2000`` (20 houses: 1 %, a 0.75 MW group whose imbalances are tens of kW), with DOMS's dead band and
data tolerances scaled alike. Nothing else is changed.

**Closed loop.** The published load is the scaled scenario's plus the houses' departure from their mean flexible
power (:mod:`goflex.demo.fleet_response`, read from the controlled clamps' energy registers through the FOA's
subscription): DOMS sees its sheds and their rebounds in the load it reads, as on the real TG8000.

**Prices.** With the two-price rule alone (spot x 1.1 / x 0.9, about 4 EUR/MWh of penalty) shedding never pays
FMAN's asked 50-60 EUR/MWh, and a linear penalty makes a block's rebound cost what the block saved (docs/doms.md,
"why DOMS is far from the oracle"). The demo scenario therefore carries imbalance prices with control-energy
hours: each hour the penalty is 20 EUR/MWh, or 250 EUR/MWh in about one hour in three (seeded). Shedding in an
expensive hour and recovering in a cheap one is what DOMS buys; the figures are illustrative, not Swissgrid's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import httpx
import numpy as np

from goflex.broker.acl import EndpointPermission, Grant, grants_for_application
from goflex.common.clock import Clock
from goflex.demo.grid_meter import FleetEnergy, GridMeter, ensure_certificate, open_endpoint
from goflex.doms.live import GRID_ENDPOINT, DomsService, DomsSettings
from goflex.doms.live_inputs import ScenarioReplay
from goflex.doms.live_orders import OrderPolicy
from goflex.doms.live_runner import DOMS_IDENTITY, LiveOptions, live_doms
from goflex.doms.scenario_files import GridSeries, read_grid
from goflex.pki.names import CertificateKind

log = logging.getLogger(__name__)

SCENARIO_DAYS = 7
HOUSES_PER_SCALE = 2000.0  # 20 houses trade for 1 % of the pilot's balance group
CHEAP_EUR_MWH = 20.0
EXPENSIVE_EUR_MWH = 250.0
EXPENSIVE_SHARE = 1.0 / 3.0


def doms_grants(identity: str = DOMS_IDENTITY, grid_endpoint: str = GRID_ENDPOINT) -> list[Grant]:
    """DOMS's MQTT grants: READ on the grid endpoint, nothing else (deny by default)."""
    return grants_for_application(identity, grid_endpoint, EndpointPermission.READ)


def prepare_doms_pki(pki: Path, identity: str = DOMS_IDENTITY, grid_endpoint: str = GRID_ENDPOINT) -> None:
    """Issue DOMS's application certificate and the grid endpoint's certificate unless they exist."""
    ensure_certificate(pki, identity, CertificateKind.APPLICATION)
    ensure_certificate(pki, grid_endpoint, CertificateKind.ENDPOINT)


def control_energy_prices(grid: GridSeries, seed: int) -> GridSeries:
    """The series with imbalance prices of cheap and expensive hours (see the module docstring)."""
    hours = -(-grid.time_s.size // 12)
    rng = np.random.default_rng(seed)
    premium = np.where(rng.random(hours) < EXPENSIVE_SHARE, EXPENSIVE_EUR_MWH, CHEAP_EUR_MWH)
    per_row = np.repeat(premium, 12)[: grid.time_s.size]
    return replace(
        grid, price_short_eur_mwh=grid.spot_eur_mwh + per_row, price_long_eur_mwh=grid.spot_eur_mwh - per_row
    )


def demo_scenario(directory: Path, seed: int = 1) -> Path:
    """``directory/doms-scenario`` with a 7-day pilot scenario and control-energy prices (made once)."""
    target = directory / "doms-scenario"
    if (target / "grid.csv").is_file():
        return target
    from goflex.doms.scenario import ScenarioRequest, generate  # noqa: PLC0415 - pvlib: only when generating
    from goflex.doms.scenario_files import Scenario, write_scenario  # noqa: PLC0415

    generated = generate(ScenarioRequest(days=SCENARIO_DAYS, seed=seed, scale="pilot", start=date(2016, 1, 4)))
    scenario = generated.scenario
    write_scenario(target, Scenario(control_energy_prices(scenario.grid, seed), scenario.fleet))
    return target


@dataclass
class DomsBuyer:
    """The live DOMS as the trading chain's buyer (see the module docstring).

    Args:
        broker_url: the embedded broker.
        pki: the demo's CA directory (certificates are issued by :func:`prepare_doms_pki`).
        directory: the demo directory (scenario, outbox, token).
        houses: the demo's houses (sets the scale).
        seed: scenario seed.
        token_cache_s: how long the state API remembers a verified token [s of the clock].
        fleet: the demo houses' energy registers: their response joins the published load (closed loop); None:
            the scenario's load alone.
    """

    broker_url: str
    pki: Path
    directory: Path
    houses: int = 20
    seed: int = 1
    token_cache_s: float = 60.0
    fleet: FleetEnergy | None = None
    participant_id: str = "dso-doms"
    service: DomsService | None = None
    url: str = ""
    meter: GridMeter | None = None

    @property
    def scale(self) -> float:
        """MW of the demo balance group per MW of the pilot's [-]."""
        return max(self.houses, 1) / HOUSES_PER_SCALE

    @property
    def orders(self) -> int:
        """Buy orders placed so far (the demo's summary)."""
        return 0 if self.service is None else self.service.counters.orders_placed

    def summary(self) -> str:
        """See :class:`goflex.demo.trading.Buyer`: imbalance now, stopped or not, orders, trades, the API."""
        if self.service is None:
            return "DOMS: starting"
        state = self.service.state()
        now = state["imbalanceNowMw"]
        imbalance = "unknown" if now is None else f"{now * 1000:+.1f} kW"
        stop = f"stopped ({state['reason']})" if state["stopped"] else "running"
        c, trades = state["counters"], state["trades"]
        houses = (
            ""
            if self.meter is None or self.fleet is None
            else f"houses {self.meter.departure_mw * 1000:+.1f} kW off their mean, "
        )
        return (
            f"DOMS {stop}: imbalance now {imbalance} (dead band {state['deadbandMw'] * 1000:.1f} kW), {houses}"
            f"{c['decisions']} decisions, {c['orders_placed']} buy orders ({c['orders_refused']} refused, "
            f"{c['orders_revoked']} revoked), {trades['count']} trades ({trades['energyKwh']:.2f} kWh); "
            f"state: {self.url}/api/v1/state"
        )

    async def run(self, market: httpx.AsyncClient, clock: Clock) -> None:
        """See :class:`goflex.demo.trading.Buyer`: meter, DOMS and its API until cancelled."""
        scenario = await asyncio.to_thread(demo_scenario, self.directory, self.seed)
        await asyncio.to_thread(prepare_doms_pki, self.pki)
        grid = await asyncio.to_thread(read_grid, scenario / "grid.csv")
        replay = ScenarioReplay(grid, scale=self.scale)
        # a busy event loop at x600 delays a message by simulated minutes: wait for it up to 290 s (not a gap)
        settings = DomsSettings(scale=self.scale, orders=OrderPolicy(margin_s=300.0), grace_s=290.0)
        options = LiveOptions(
            broker_url=self.broker_url,
            pki=self.pki,
            scenario=scenario,
            token_file=self.directory / "doms-operator-token.txt",
            port=0,
            settings=settings,
            token_cache_s=self.token_cache_s,
        )
        endpoint = open_endpoint(
            pki=self.pki,
            broker_url=self.broker_url,
            outbox=self.directory / "outbox" / f"{GRID_ENDPOINT}.db",
            clock=clock,
        )
        async with endpoint, live_doms(options, clock, market) as live:
            self.service, self.url = live.service, live.url
            log.info("DOMS (demo buyer): state on %s/api/v1/state, scale %.4f", live.url, self.scale)
            self.meter = GridMeter(replay, endpoint, clock, fleet=self.fleet)
            await self.meter.run()


__all__ = ["DomsBuyer", "control_energy_prices", "demo_scenario", "doms_grants", "prepare_doms_pki"]
