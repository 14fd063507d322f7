"""``goflex history query ENDPOINT/ATTRIBUTE --db URL [--since T] [--until T] --json`` (DESIGN.md 5.2).

Prints a JSON list of ``{"time": ISO-8601 UTC, "value": v}`` on stdout, oldest first, exactly the shape of the
API's ``GET /api/v1/history``; ``--json`` is the only output format (human text, such as a truncation warning,
goes to stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from goflex.cloudio import AttributePath, CloudioError
from goflex.common import ConfigError, GoflexSettings, load_settings


def register(sub: Any) -> None:
    """Add the ``history`` command group."""
    history = sub.add_parser("history", help="read the history database")
    commands = history.add_subparsers(dest="history_command", metavar="HISTORY_COMMAND", required=True)
    query = commands.add_parser("query", help="values of one attribute as JSON")
    query.add_argument(
        "attribute", metavar="ENDPOINT/ATTRIBUTE", help="e.g. goflex-dc-004/gateway/relay1State/datapoint"
    )
    query.add_argument("--db", default=None, help="database URL (default: $GOFLEX_DB_URL or the embedded SQLite)")
    query.add_argument("--since", type=_instant, default=None, help="start, ISO 8601 (default: 24 h before --until)")
    query.add_argument("--until", type=_instant, default=None, help="end, exclusive, ISO 8601 (default: now)")
    query.add_argument("--resample-interval", default=None, help="bucket length: 1m, 15m, 1h, 1d or seconds")
    query.add_argument("--resample-function", default="MEAN", help="MEAN MIN MAX SUM FIRST LAST COUNT INTEGRAL")
    query.add_argument("--max", type=int, default=10_000, help="the most rows returned (default 10000)")
    query.add_argument("--json", action="store_true", required=True, help="JSON on stdout (the only format)")
    query.set_defaults(handler=_query)


def _instant(text: str) -> datetime:
    """Parse ISO 8601; a naive time is taken as UTC (goflex is UTC inside, DESIGN.md 4)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _query(args: argparse.Namespace) -> int:
    from goflex.store import HistoryRepository, Resample, open_database  # noqa: PLC0415 - lazy: every goflex command would pay for its import

    settings = load_settings(GoflexSettings, db_url=args.db)
    try:
        path = AttributePath.parse(args.attribute)
    except CloudioError as exc:
        raise ConfigError("ENDPOINT/ATTRIBUTE", str(exc)) from exc
    until = args.until or datetime.now(UTC)
    since = args.since or until - timedelta(hours=24)
    resample = Resample.parse(args.resample_interval, args.resample_function) if args.resample_interval else None
    db = open_database(settings.db_url)
    try:
        points = HistoryRepository(db).query(path.endpoint, str(path), since, until, resample=resample, limit=args.max)
    finally:
        db.close()
    document = [{"time": _iso(t), "value": v} for t, v in points]
    json.dump(document, sys.stdout)
    sys.stdout.write("\n")
    if points.truncated:
        print(f"goflex: only the first {args.max} rows; narrow the range or raise --max", file=sys.stderr)
    return 0


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
