"""``goflex bench flex --json [--sizes 10000,100000,1000000]`` (issue 4 section 5).

Aggregation and disaggregation throughput (FlexOffers per second), memory peak, and compression ratio against
time-flexibility loss for EST tolerances 0, 1, 4, 20 and tf tolerances 0 and 4. One JSON document on stdout;
progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated offer counts") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be >= 1")
    return sizes


def register(commands: Any) -> None:
    """Add ``flex`` to ``goflex bench``."""
    flex = commands.add_parser("flex", help="FlexOffer aggregation and disaggregation throughput, compression")
    flex.add_argument(
        "--sizes", type=_sizes, default=(10_000, 100_000, 1_000_000), help="offer counts (default 10000,100000,1000000)"
    )
    flex.add_argument(
        "--tradeoff-size", type=int, default=100_000, help="offers in the compression/loss table (default 100000)"
    )
    flex.add_argument("--max-members", type=int, default=100, help="members per aggregate at most (default 100)")
    flex.add_argument("--seed", type=int, default=1, help="random seed of the offer generator (default 1)")
    flex.add_argument("--skip-json", action="store_true", help="do not time writing and parsing FlexOffer JSON")
    flex.add_argument("--json", action="store_true", required=True, help="JSON on stdout (the only format)")
    flex.set_defaults(handler=_flex)


def _flex(args: argparse.Namespace) -> int:
    if args.tradeoff_size < 1 or args.max_members < 1:
        print("goflex bench flex: need --tradeoff-size >= 1 and --max-members >= 1", file=sys.stderr)
        return 2
    from goflex.bench.flex import FlexBenchOptions, bench_flex  # noqa: PLC0415 - lazy: numpy, highspy

    options = FlexBenchOptions(
        sizes=args.sizes,
        tradeoff_size=args.tradeoff_size,
        max_members=args.max_members,
        seed=args.seed,
        parse_json=not args.skip_json,
    )
    json.dump(bench_flex(options), sys.stdout)
    sys.stdout.write("\n")
    return 0
