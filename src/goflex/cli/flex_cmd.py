"""``goflex flex aggregate|disaggregate|measure`` (issue 4 section 1): FlexOffer files in, JSON out.

Invalid input ends with exit code 2 and a message naming the field and the rule (``goflex: error: ...``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from goflex.common import ConfigError


def register(sub: Any) -> None:
    """Add the ``flex`` command group."""
    flex = sub.add_parser("flex", help="FlexOffers: aggregate, disaggregate, measure")
    commands = flex.add_subparsers(dest="flex_command", metavar="FLEX", required=True)

    agg = commands.add_parser("aggregate", help="aggregate FlexOffers (User Group JSON) into a self-contained file")
    agg.add_argument("input", type=Path, metavar="IN.json")
    agg.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.json")
    agg.add_argument("--est-tolerance", type=int, default=0, help="EST grid cell [intervals] (default 0)")
    agg.add_argument("--tft-tolerance", type=int, default=0, help="time-flexibility grid cell [intervals] (default 0)")
    agg.add_argument("--max-members", type=int, default=100, help="members per aggregate at most (default 100)")
    agg.add_argument(
        "--alignment",
        choices=("start", "baseline"),
        default="start",
        help="place members at their EST (start, default) or at their default schedule's start (baseline)",
    )
    agg.add_argument(
        "--tec-policy",
        choices=("box", "single", "sum"),
        default="box",
        help="offers with a binding total-energy constraint: inner box (default; every aggregate schedule "
        "disaggregatable), kept single, or plain summing (some schedules then cannot be split)",
    )
    agg.set_defaults(handler=_aggregate)

    dis = commands.add_parser("disaggregate", help="split aggregate schedules into member schedules")
    dis.add_argument("aggregates", type=Path, metavar="AGG.json")
    dis.add_argument("schedules", type=Path, metavar="SCHEDULES.json")
    dis.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.json")
    dis.set_defaults(handler=_disaggregate)

    measure = commands.add_parser("measure", help="flexibility measures of each FlexOffer")
    measure.add_argument("input", type=Path, metavar="IN.json")
    measure.add_argument("--json", action="store_true", required=True, help="JSON on stdout (the only format)")
    measure.set_defaults(handler=_measure)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(what, f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise ConfigError(what, f"{path}: not JSON ({exc})") from exc


def _write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def _aggregate(args: argparse.Namespace) -> int:
    from goflex.flex import AggregationParameters, parse_document  # noqa: PLC0415 - lazy (highspy, numpy)
    from goflex.flex.aggregates_file import aggregate_document  # noqa: PLC0415
    from goflex.flex.aggregation import Alignment, TecPolicy  # noqa: PLC0415

    offers = parse_document(_read_json(args.input, "IN.json"))
    if not offers:
        raise ConfigError("IN.json", f"{args.input}: no FlexOffer in it")
    origin = min(o.start_after_time for o in offers).astimezone(UTC)
    try:
        params = AggregationParameters(
            origin=origin,
            est_tolerance=args.est_tolerance,
            tf_tolerance=args.tft_tolerance,
            max_members=args.max_members,
            alignment=Alignment(args.alignment),
            tec_policy=TecPolicy(args.tec_policy),
        )
    except ValueError as exc:
        raise ConfigError("--est-tolerance/--tft-tolerance/--max-members", str(exc)) from exc
    document = aggregate_document(offers, params)
    _write_json(args.output, document.to_json())
    n = len(document.aggregates)
    print(f"goflex flex: {len(offers)} FlexOffer(s) -> {n} aggregate(s) in {args.output}", file=sys.stderr)
    return 0


def _disaggregate(args: argparse.Namespace) -> int:
    from goflex.flex.aggregates_file import AggregatesDocument, disaggregate_document  # noqa: PLC0415 - lazy

    document = AggregatesDocument.from_json(_read_json(args.aggregates, "AGG.json"))
    result = disaggregate_document(document, _read_json(args.schedules, "SCHEDULES.json"))
    _write_json(args.output, result)
    print(f"goflex flex: {len(result['schedules'])} member schedule(s) in {args.output}", file=sys.stderr)
    return 0


def _measure(args: argparse.Namespace) -> int:
    from goflex.flex import measures as m  # noqa: PLC0415
    from goflex.flex import parse_document  # noqa: PLC0415 - lazy

    rows = []
    for offer in parse_document(_read_json(args.input, "IN.json")):
        row: dict[str, Any] = {
            "id": offer.id,
            "timeFlexibilityIntervals": m.time_flexibility_intervals(offer),
            "energyFlexibilityKwh": m.energy_flexibility_kwh(offer),
            "effectiveEnergyFlexibilityKwh": m.effective_energy_flexibility_kwh(offer),
            "productFlexibility": m.product_flexibility(offer),
        }
        try:
            row["absoluteAreaFlexibility"] = m.absolute_area_flexibility(offer)
            row["relativeAreaFlexibility"] = m.relative_area_flexibility(offer)
        except m.UndefinedMeasure as exc:
            row["areaFlexibility"] = f"undefined: {exc}"
        rows.append(row)
    json.dump({"measures": rows, "measuredAt": datetime.now(UTC).isoformat()}, sys.stdout)
    sys.stdout.write("\n")
    return 0
