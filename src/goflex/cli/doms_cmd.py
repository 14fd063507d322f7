"""``goflex doms ...``: DOMS: imbalance scenarios, analysis, evaluation and the live service.

One function per sub-command: ``_add_scenario`` / ``_scenario`` and ``_add_analyze`` / ``_analyze`` here;
``evaluate`` comes from :mod:`goflex.cli.doms_evaluate_cmd`, ``run`` and ``grid-meter`` (the live service and its
grid endpoint) from :mod:`goflex.cli.doms_run_cmd`. Bad input ends with exit code 2 and a message
naming the file, row or key (``goflex: error: ...``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from goflex.common import ConfigError


def register(sub: Any) -> None:
    """Add the ``doms`` command group."""
    group = sub.add_parser("doms", help="DOMS: imbalance scenarios, analysis, evaluation and the live service")
    commands = group.add_subparsers(dest="doms_command", metavar="COMMAND", required=True)
    _add_scenario(commands)
    _add_analyze(commands)
    from goflex.cli.doms_evaluate_cmd import add_evaluate  # noqa: PLC0415 - owned by the evaluation module

    add_evaluate(commands)
    from goflex.cli.doms_run_cmd import add_run  # noqa: PLC0415 - the live service's commands

    add_run(commands)


# ------------------------------------------------------------------------------------------- goflex doms scenario


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def _add_scenario(commands: Any) -> None:
    p = commands.add_parser("scenario", help="generate an ESR-like scenario directory (grid.csv, fleet.json)")
    p.add_argument("--days", type=_positive_int, required=True, help="number of days")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--scale", choices=("pilot", "territory"), default="territory", help="fleet (default territory)")
    p.add_argument("--start", type=date.fromisoformat, default=date(2016, 1, 1), help="first day, UTC (2016-01-01)")
    p.add_argument(
        "--receivers",
        choices=("registered", "all"),
        default="registered",
        help="territory: the registered loads (default) or all 11,687 ripple-control receivers",
    )
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    p.set_defaults(handler=_scenario)


def _scenario(args: argparse.Namespace) -> int:
    from goflex.doms.scenario import ScenarioRequest, defects_document, generate  # noqa: PLC0415 - lazy (pvlib)
    from goflex.doms.scenario_files import write_scenario  # noqa: PLC0415
    from goflex.doms.truth_file import Truth, write_truth  # noqa: PLC0415

    try:
        request = ScenarioRequest(
            days=args.days,
            seed=args.seed,
            scale=args.scale,
            start=args.start,
            all_receivers=args.receivers == "all",
        )
        if request.all_receivers and request.scale != "territory":
            raise ValueError("--receivers all applies to --scale territory only")
    except ValueError as exc:
        raise ConfigError("--days/--seed/--scale/--receivers", str(exc)) from exc
    generated = generate(request)
    write_scenario(args.output, generated.scenario)
    defects = defects_document(generated)
    (args.output / "defects.json").write_text(json.dumps(defects) + "\n", encoding="utf-8")
    write_truth(args.output, generated.scenario.grid, Truth(generated.true_load_mw, generated.noise_mw))
    fleet = generated.scenario.fleet
    print(
        f"goflex doms: {args.days} day(s), {generated.scenario.grid.time_s.size} rows, "
        f"{sum(g.count for g in fleet.groups)} devices in {len(fleet.groups)} groups -> {args.output}",
        file=sys.stderr,
    )
    return 0


# -------------------------------------------------------------------------------------------- goflex doms analyze


def _add_analyze(commands: Any) -> None:
    p = commands.add_parser("analyze", help="the seed's forecast-error analysis of a grid.csv (stats, figures)")
    p.add_argument("grid", type=Path, metavar="GRID.csv")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    p.add_argument("--json", action="store_true", help="also print stats.json on stdout")
    p.set_defaults(handler=_analyze)


def _analyze(args: argparse.Namespace) -> int:
    from goflex.doms.analysis import error_runs, error_statistics, quarter_errors  # noqa: PLC0415 - lazy
    from goflex.doms.figures import write_figures, write_page  # noqa: PLC0415 - lazy (matplotlib)
    from goflex.doms.scenario_files import read_grid  # noqa: PLC0415

    grid = read_grid(args.grid)
    errors = quarter_errors(grid)
    runs = error_runs(errors)
    stats = error_statistics(errors, runs)
    args.output.mkdir(parents=True, exist_ok=True)
    document = stats.to_json()
    (args.output / "stats.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    write_figures(args.output, errors, runs)
    write_page(args.output / "index.html", stats, source=str(args.grid))
    if args.json:
        json.dump(document, sys.stdout)
        sys.stdout.write("\n")
    print(
        f"goflex doms: {stats.quarters} quarters ({stats.skipped_quarters} without load), {stats.runs} runs, "
        f"{grid.load_gaps} empty and {grid.load_unparsable} bad load values -> {args.output}",
        file=sys.stderr,
    )
    return 0
