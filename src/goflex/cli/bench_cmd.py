"""``goflex bench ingest|twin --json ...`` (issue 2 section 8, issue 3 section 4).

* ``ingest --json [--endpoints N] [--rate R] [--seconds S] [--db URL]``: broker -> ingest -> database.
* ``twin --json [--houses N] [--speed X] [--seconds S] [--db URL] [--territory-houses M] [--territory-days D]``:
  twin houses with their gateways in real time (full stack), against the vectorised physics.

The figures go to stdout as one JSON document; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

# Benchmarks defined in their own command modules (``goflex.cli.<name>``), each with ``register(commands)``.
EXTRA_BENCH_MODULES: tuple[str, ...] = ("bench_flex_cmd", "bench_market_cmd", "bench_doms_cmd")


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
    _register_twin(commands)
    for name in EXTRA_BENCH_MODULES:
        importlib.import_module(f"goflex.cli.{name}").register(commands)


def _register_twin(commands: Any) -> None:
    twin = commands.add_parser("twin", help="twin houses + gateways + Mosquitto + ingest, vs physics only")
    twin.add_argument("--houses", type=int, default=200, help="pilot houses in the full stack (default 200)")
    twin.add_argument("--speed", type=float, default=10.0, help="simulated seconds per real second (default 10)")
    twin.add_argument("--seconds", type=float, default=60.0, help="measured wall-clock window [s] (default 60)")
    twin.add_argument("--db", default=None, help="database URL (default: a temporary SQLite file)")
    twin.add_argument("--territory-houses", type=int, default=11_687, help="receivers, physics only (default 11687)")
    twin.add_argument("--territory-days", type=float, default=7.0, help="simulated days of the territory (default 7)")
    twin.add_argument("--physics-days", type=float, default=1.0, help="simulated days of the detailed physics")
    twin.add_argument("--seed", type=int, default=1, help="random seed of the fleets (default 1)")
    twin.add_argument("--drain-seconds", type=float, default=30.0, help="wait for the outboxes to empty [s]")
    twin.add_argument("--profile", type=Path, default=None, help="write a cProfile of the fleet process here")
    twin.add_argument("--keep", action="store_true", help="keep the temporary CA, broker, outboxes and database")
    twin.add_argument(
        "--publish",
        choices=("update", "transaction"),
        default="update",
        help="gateways send one @update per value (the pilot's, default) or one @transaction per sample",
    )
    twin.add_argument(
        "--fleet-processes",
        type=int,
        default=min(os.cpu_count() or 1, 4),
        help="split the houses over N processes (default: the cores, at most 4)",
    )
    twin.add_argument("--json", action="store_true", required=True, help="JSON on stdout (the only format)")
    twin.set_defaults(handler=_twin)


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


def _twin(args: argparse.Namespace) -> int:
    positive = (args.speed, args.seconds, args.territory_days, args.physics_days)
    counts = (args.houses, args.fleet_processes, args.territory_houses)
    if min(counts) < 1 or min(positive) <= 0 or args.drain_seconds < 0:
        print(
            "goflex bench twin: need --houses, --fleet-processes and --territory-houses >= 1, "
            "positive --speed, --seconds, "
            "--territory-days, --physics-days and --drain-seconds >= 0",
            file=sys.stderr,
        )
        return 2
    from goflex.bench import TwinBenchOptions, bench_twin  # noqa: PLC0415 - lazy, as above

    options = TwinBenchOptions(
        houses=args.houses,
        speed=args.speed,
        seconds=args.seconds,
        db_url=args.db,
        territory_houses=args.territory_houses,
        territory_days=args.territory_days,
        physics_days=args.physics_days,
        seed=args.seed,
        drain_seconds=args.drain_seconds,
        keep=args.keep,
        profile=args.profile,
        publish=args.publish,
        shards=args.fleet_processes,
    )
    result = asyncio.run(bench_twin(options))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0
