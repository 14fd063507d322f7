"""``goflex bench doms --json``: optimisation cycle times and evaluation speed of DOMS (issue 5 section 6)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(commands: Any) -> None:
    """Add ``doms`` to ``goflex bench``."""
    p = commands.add_parser("doms", help="DOMS: optimisation cycle (4/12/24 h x 10/100/1000 offers), evaluation speed")
    p.add_argument("--pilot-days", type=int, default=7, help="days of the pilot scenario evaluated (default 7)")
    p.add_argument("--territory-days", type=int, default=7, help="days of the territory scenario (default 7)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--repeat", type=int, default=3, help="runs per cycle figure, median kept (default 3)")
    p.add_argument("--cycles-only", action="store_true", help="skip the evaluations")
    p.add_argument("--json", action="store_true", required=True, help="JSON on stdout (the only format)")
    p.set_defaults(handler=_doms)


def _doms(args: argparse.Namespace) -> int:
    if min(args.pilot_days, args.territory_days, args.repeat) < 1:
        print("goflex bench doms: --pilot-days, --territory-days and --repeat must be >= 1", file=sys.stderr)
        return 2
    from goflex.bench.doms import DomsBenchOptions, bench_doms  # noqa: PLC0415 - lazy (HiGHS, scikit-learn)
    from goflex.cli.doms_evaluate_cmd import quiet_highs  # noqa: PLC0415

    quiet_highs()
    options = DomsBenchOptions(
        pilot_days=args.pilot_days,
        territory_days=args.territory_days,
        seed=args.seed,
        repeat=args.repeat,
        evaluate=not args.cycles_only,
    )
    json.dump(bench_doms(options), sys.stdout)
    sys.stdout.write("\n")
    return 0
