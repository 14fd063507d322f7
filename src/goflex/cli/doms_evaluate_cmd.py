"""``goflex doms evaluate SCENARIO_DIR --json``: baseline, DOMS and oracle on one scenario (issue 5 section 3).

Prints the document of issue 5 section 3 on stdout (one JSON line); a progress bar goes to stderr. With
``--decisions FILE`` the DOMS controller's records (one JSON object per line: what it saw, why it acted) are
written for the operator. Bad scenario files end with exit code 2 and a message naming the file and row or key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from goflex.cli.arguments import positive

PRICE_CHOICES = ("two-price", "single-price", "flat")


def add_evaluate(commands: Any) -> None:
    """Add ``evaluate`` to the ``goflex doms`` group."""
    p = commands.add_parser("evaluate", help="baseline vs DOMS vs oracle on a scenario directory (JSON)")
    p.add_argument("scenario", type=Path, metavar="SCENARIO_DIR", help="a directory with grid.csv and fleet.json")
    p.add_argument("--json", action="store_true", required=True, help="JSON on stdout (the only format)")
    p.add_argument("--horizon-hours", type=positive, default=6.0, help="optimisation horizon [h] (default 6)")
    p.add_argument("--prices", choices=PRICE_CHOICES, default="two-price", help="imbalance price model")
    p.add_argument(
        "--flex-price", type=float, default=0.5, help="price of the flexibility [EUR/MWh shed] (default 0.5)"
    )
    p.add_argument(
        "--forecast",
        choices=("selector", "perfect", "perfect-smooth", "level-now"),
        default="selector",
        help="DOMS's forecaster: the real one (default) or a bound that knows more (docs/doms.md; "
        "perfect-smooth and level-now read the scenario's truth.csv)",
    )
    p.add_argument(
        "--perfect-hours", type=positive, default=None, help="with --forecast perfect: hours known, then persistence"
    )
    p.add_argument(
        "--scenario-spread",
        type=positive,
        default=None,
        help="widen the forecast quantiles around the median by this factor in the LP (default: the controller's)",
    )
    p.add_argument("--decisions", type=Path, default=None, metavar="FILE", help="write DOMS's decision records")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_evaluate)


class ProgressBar:
    """A one-line progress bar on stderr: ``case [#####.....] 52 % 12 s``."""

    def __init__(self, width: int = 30) -> None:
        self.width = width
        self.began = time.monotonic()
        self._shown = ("", -1)

    def __call__(self, case: str, fraction: float) -> None:
        """Redraw when the case or the whole percentage changes."""
        percent = int(fraction * 100)
        if (case, percent) == self._shown:
            return
        self._shown = (case, percent)
        filled = int(self.width * fraction)
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.monotonic() - self.began
        sys.stderr.write(f"\r{case:<8} [{bar}] {percent:3d} % {elapsed:5.0f} s")
        if fraction >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()


def quiet_highs() -> None:
    """Construct HiGHS once with stdout sent to stderr: it prints its banner from C at the first instance."""
    import highspy  # noqa: PLC0415 - lazy, as every solver import

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no stubs
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _evaluate(args: argparse.Namespace) -> int:
    from goflex.doms.evaluation import NEEDS_TRUTH, EvaluationOptions, evaluate  # noqa: PLC0415 - lazy (sklearn)
    from goflex.doms.prices import PRICE_MODELS  # noqa: PLC0415
    from goflex.doms.scenario_files import read_scenario  # noqa: PLC0415
    from goflex.doms.truth_file import read_truth  # noqa: PLC0415

    if args.flex_price < 0:
        print("goflex doms evaluate: --flex-price must be >= 0", file=sys.stderr)
        return 2
    try:
        options = EvaluationOptions(
            horizon_quarters=max(1, round(args.horizon_hours * 4)),
            prices=PRICE_MODELS[args.prices],
            flex_cost_eur_per_mwh=args.flex_price,
            forecast=args.forecast,
            perfect_hours=args.perfect_hours,
            **({} if args.scenario_spread is None else {"scenario_spread": args.scenario_spread}),
        )
    except ValueError as exc:
        print(f"goflex doms evaluate: {exc}", file=sys.stderr)
        return 2
    scenario = read_scenario(args.scenario)
    truth = read_truth(args.scenario, scenario.grid) if args.forecast in NEEDS_TRUTH else None
    quiet_highs()
    result = evaluate(scenario, options, None if args.quiet else ProgressBar(), truth)
    if args.decisions is not None:
        with args.decisions.open("w", encoding="utf-8") as out:
            for decision in result.doms.decisions:
                out.write(json.dumps(decision.record()) + "\n")
    json.dump(result.to_json(), sys.stdout)
    sys.stdout.write("\n")
    return 0
