"""``goflex bench market --json [--orders N] [--api-orders M]`` (issue 4 section 5)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(commands: Any) -> None:
    """Add ``market`` to ``goflex bench``."""
    market = commands.add_parser("market", help="orders matched per second; latency of an order through the API")
    market.add_argument("--orders", type=int, default=1000, help="bids and buy orders for the matcher (default 1000)")
    market.add_argument("--api-orders", type=int, default=300, help="bids and buy orders through the API (default 300)")
    market.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    market.add_argument("--json", action="store_true", required=True, help="JSON on stdout (the only format)")
    market.set_defaults(handler=_market)


def _market(args: argparse.Namespace) -> int:
    if args.orders < 1 or args.api_orders < 1:
        print("goflex bench market: need --orders >= 1 and --api-orders >= 1", file=sys.stderr)
        return 2
    from goflex.bench.market import MarketBenchOptions, bench_market  # noqa: PLC0415 - lazy: every goflex command would pay for its import

    result = bench_market(MarketBenchOptions(orders=args.orders, api_orders=args.api_orders, seed=args.seed))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0
