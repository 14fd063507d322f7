"""``goflex market serve|participant add``: the Flexibility Market (FMAR) service (issue 4 section 4).

* ``serve --db URL [--host 127.0.0.1] [--port 8470] [--gate-closure-min 15] [--operator-token-file PATH]``:
  migrates the market's tables, rebuilds the order book and serves the API until interrupted. With no
  participant at all, an operator is created and its token written to the token file (mode 0600), never logged.
* ``participant add ID --role seller [--role ...] [--name N] [--location L ...] [--callback-url U] --db URL``:
  registers a participant and prints its token on stdout (shown once, stored hashed).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from goflex.common.settings import DEFAULT_HOME

DEFAULT_PORT = 8470


def _default_db() -> str:
    return os.environ.get("GOFLEX_DB_URL", f"sqlite:///{DEFAULT_HOME / 'market.db'}")


def register(sub: Any) -> None:
    """Add the ``market`` command group."""
    group = sub.add_parser("market", help="the Flexibility Market (FMAR) service")
    commands = group.add_subparsers(dest="market_command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="serve the market's HTTP API")
    serve.add_argument("--db", default=None, help="database URL (default $GOFLEX_DB_URL or ~/.../market.db)")
    serve.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--gate-closure-min", type=float, default=15.0, help="gate closure [min] (default 15)")
    serve.add_argument(
        "--operator-token-file",
        type=Path,
        default=DEFAULT_HOME / "market-operator-token.txt",
        help="where the first operator's token is written (mode 0600)",
    )
    serve.set_defaults(handler=_serve)

    participant = commands.add_parser("participant", help="market participants")
    participants = participant.add_subparsers(dest="participant_command", metavar="ACTION", required=True)
    add = participants.add_parser("add", help="register a participant and print its token")
    add.add_argument("id", metavar="ID")
    add.add_argument("--role", action="append", required=True, choices=("buyer", "seller", "operator"))
    add.add_argument("--name", default=None)
    add.add_argument("--location", action="append", default=[], help="grid location it may trade at (repeatable)")
    add.add_argument("--callback-url", default=None, help="push target for schedules")
    add.add_argument("--db", default=None, help="database URL (default $GOFLEX_DB_URL or ~/.../market.db)")
    add.set_defaults(handler=_add)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - lazy: every goflex command would pay for its import

    from goflex.common.clock import RealClock  # noqa: PLC0415
    from goflex.flex.fmar.app import create_app  # noqa: PLC0415
    from goflex.flex.fmar.market import MarketSettings  # noqa: PLC0415
    from goflex.flex.fmar.repository import MarketRepository, migrate_market  # noqa: PLC0415
    from goflex.store.database import open_database  # noqa: PLC0415

    if args.gate_closure_min < 0:
        print("goflex market serve: --gate-closure-min must be >= 0", file=sys.stderr)
        return 2
    db = open_database(args.db or _default_db())
    try:
        migrate_market(db)
        app = create_app(
            MarketRepository(db),
            RealClock(),
            MarketSettings(gate_closure_s=args.gate_closure_min * 60),
            operator_token_file=args.operator_token_file,
        )
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        db.close()
    return 0


def _add(args: argparse.Namespace) -> int:
    from goflex.common.clock import RealClock  # noqa: PLC0415 - lazy, as above
    from goflex.flex.fmar.errors import Refused  # noqa: PLC0415
    from goflex.flex.fmar.market import Market  # noqa: PLC0415
    from goflex.flex.fmar.repository import MarketRepository, migrate_market  # noqa: PLC0415
    from goflex.store.database import open_database  # noqa: PLC0415

    db = open_database(args.db or _default_db())
    try:
        migrate_market(db)
        market = Market(MarketRepository(db), RealClock())
        try:
            token = market.add_participant(
                args.id, args.role, name=args.name, locations=args.location, callback_url=args.callback_url
            )
        except Refused as exc:
            print(f"goflex market participant add: {exc.message}", file=sys.stderr)
            return 2
    finally:
        db.close()
    print(token)
    return 0
