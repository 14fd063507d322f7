"""``goflex demo [--houses N] [--speed X] [--hours H] [--no-trading] [--buyer doms|scripted] ...`` (DESIGN.md 5.2)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from goflex.cli.arguments import house_count, positive


def register(sub: Any) -> None:
    """Add the ``demo`` command."""
    demo = sub.add_parser("demo", help="run the pilot on embedded defaults (broker, SQLite, ingest, API, houses)")
    demo.add_argument("--houses", type=house_count, default=20, help="twin Direct Control houses (default 20)")
    demo.add_argument("--speed", type=positive, default=10.0, help="simulated seconds per second (default 10)")
    demo.add_argument("--hours", type=positive, default=None, help="stop after H simulated hours")
    demo.add_argument("--port", type=int, default=8080, help="HTTP API port (default 8080; 0 = any free port)")
    demo.add_argument("--no-web", dest="web", action="store_false", help="do not serve the HTTP API")
    demo.add_argument(
        "--no-trading",
        dest="trading",
        action="store_false",
        help="do not run the trading chain (FMAR, FMAN, the Direct Control FOA, the DSO buyer)",
    )
    demo.add_argument(
        "--buyer",
        choices=("doms", "scripted"),
        default="doms",
        help="the DSO buyer: the live DOMS (default) or a scripted DSO buying every hour",
    )
    demo.add_argument("--dir", type=Path, default=Path("goflex-data/demo"), help="demo data (CA, database, outboxes)")
    demo.add_argument("--seed", type=int, default=1, help="random seed of the houses")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from goflex.demo import DemoOptions, run_demo  # noqa: PLC0415 - lazy: every goflex command would pay for its import

    options = DemoOptions(
        houses=args.houses,
        speed=args.speed,
        hours=args.hours,
        port=args.port,
        web=args.web,
        directory=args.dir,
        seed=args.seed,
        trading=args.trading,
        buyer=args.buyer,
    )
    return asyncio.run(run_demo(options))
