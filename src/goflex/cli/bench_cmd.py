"""``goflex bench ingest --json [--endpoints N] [--rate R] [--seconds S] [--db URL]`` (issue 2 section 8).

The figures go to stdout as one JSON document; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    """Add the ``bench`` command group."""
    bench = sub.add_parser("bench", help="performance figures as JSON")
    commands = bench.add_subparsers(dest="bench_command", metavar="BENCH", required=True)
    ingest = commands.add_parser("ingest", help="endpoints -> Mosquitto (TLS) -> ingest -> database, vs raw broker")
    ingest.add_argument("--endpoints", type=int, default=200, help="simulated endpoints (default 200)")
    ingest.add_argument("--rate", type=float, default=2000.0, help="attribute updates per second in total")
    ingest.add_argument("--seconds", type=float, default=20.0, help="duration of each phase [s] (default 20)")
    ingest.add_argument("--db", default=None, help="database URL (default: a temporary SQLite file)")
    ingest.add_argument(
        "--updates-per-message", type=int, default=1, help="updates per MQTT message (>1: @transaction)"
    )
    ingest.add_argument("--drain-seconds", type=float, default=30.0, help="wait for confirmations after sending")
    ingest.add_argument("--keep", action="store_true", help="keep the temporary CA, broker and database")
    ingest.add_argument("--json", action="store_true", required=True, help="JSON on stdout (the only format)")
    ingest.set_defaults(handler=_ingest)


def _ingest(args: argparse.Namespace) -> int:
    if args.endpoints < 1 or args.rate <= 0 or args.seconds <= 0 or not 1 <= args.updates_per_message <= 6:
        print(
            "goflex bench ingest: need --endpoints >= 1, --rate > 0, --seconds > 0, 1 <= --updates-per-message <= 6",
            file=sys.stderr,
        )
        return 2
    from goflex.bench import IngestBenchOptions, bench_ingest  # noqa: PLC0415 - lazy: every goflex command would pay for its import

    options = IngestBenchOptions(
        endpoints=args.endpoints,
        rate=args.rate,
        seconds=args.seconds,
        db_url=args.db,
        updates_per_message=args.updates_per_message,
        drain_seconds=args.drain_seconds,
        keep=args.keep,
    )
    result = asyncio.run(bench_ingest(options))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0
