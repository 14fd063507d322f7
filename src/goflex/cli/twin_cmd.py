"""``goflex twin run|simulate|fleet`` (DESIGN.md 5.2): the digital twin of the pilot's houses.

* ``run``: N twin houses, each with its own certificate, gateway program and pseudo-terminal, against a broker.
* ``simulate``: the vectorised physics of a territory-size fleet, no MQTT (for DOMS studies), figures as JSON.
* ``fleet``: print a generated fleet's house records (the metadata the admin tool keeps) as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from goflex.cli.arguments import house_count, positive


def register(sub: Any) -> None:
    """Add the ``twin`` command group."""
    twin = sub.add_parser("twin", help="the digital twin: simulated houses with their gateways, or physics only")
    commands = twin.add_subparsers(dest="twin_command", metavar="TWIN", required=True)

    run = commands.add_parser("run", help="twin houses with their gateway programs, against a broker")
    run.add_argument("--houses", type=house_count, default=20, help="Direct Control houses (default 20)")
    run.add_argument("--speed", type=positive, default=10.0, help="simulated seconds per second (default 10)")
    run.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    run.add_argument("--hours", type=positive, default=None, help="simulated hours, ending now (default 720: 30 days)")
    run.add_argument(
        "--broker",
        default=os.environ.get("GOFLEX_BROKER_URL", "mqtts://localhost:8883"),
        help="mqtts://HOST:PORT (default $GOFLEX_BROKER_URL or mqtts://localhost:8883)",
    )
    run.add_argument("--pki", type=Path, required=True, help="CA directory: issues the houses' missing certificates")
    run.add_argument("--fleet", type=Path, default=None, help="JSON list of house records (default: the pilot's mix)")
    run.add_argument("--dir", type=Path, default=Path("goflex-data/twin"), help="the gateways' outboxes")
    run.add_argument(
        "--processes", type=int, default=1, help="split the houses over N processes (one core each; default 1)"
    )
    run.set_defaults(handler=_run)

    simulate = commands.add_parser("simulate", help="physics only: a territory-size fleet, figures as JSON")
    simulate.add_argument("--houses", type=int, default=11_687, help="ripple-control receivers (default 11,687)")
    simulate.add_argument("--days", type=positive, default=30.0, help="simulated days (default 30)")
    simulate.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    simulate.add_argument("--start", default="2026-01-01", help="first day, YYYY-MM-DD (Europe/Zurich midnight)")
    simulate.add_argument("--json", action="store_true", required=True, help="JSON on stdout (the only format)")
    simulate.set_defaults(handler=_simulate)

    fleet = commands.add_parser("fleet", help="print a generated fleet's house records as JSON")
    fleet.add_argument("--houses", type=house_count, default=200, help="houses (default 200, the pilot)")
    fleet.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    fleet.set_defaults(handler=_fleet)


def _run(args: argparse.Namespace) -> int:
    from goflex.sim.command import TwinRunOptions, run_twin  # noqa: PLC0415 - lazy: every goflex command would pay

    options = TwinRunOptions(
        houses=args.houses,
        speed=args.speed,
        seed=args.seed,
        hours=args.hours,
        broker_url=args.broker,
        pki_dir=args.pki,
        fleet_file=args.fleet,
        directory=args.dir,
        processes=args.processes,
    )
    return asyncio.run(run_twin(options))


def _simulate(args: argparse.Namespace) -> int:
    from goflex.sim.territory_run import simulate_json  # noqa: PLC0415 - lazy

    json.dump(simulate_json(houses=args.houses, days=args.days, seed=args.seed, start=args.start), sys.stdout)
    sys.stdout.write("\n")
    return 0


def _fleet(args: argparse.Namespace) -> int:
    from goflex.twin.fleet_generator import pilot_fleet  # noqa: PLC0415 - lazy

    specs = pilot_fleet(args.houses, seed=args.seed)
    json.dump([json.loads(s.to_json()) for s in specs], sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0
