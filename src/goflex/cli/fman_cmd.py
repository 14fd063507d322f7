"""``goflex fman ...``: the Flexibility Manager (FMAN, aggregator) service (issue 4 section 3, docs/fman.md).

* ``goflex fman serve --db URL --market URL --market-token-file F [--port 8471] ...``: the HTTP API for FlexOffer
  Agents with the bid and pull loops; at first start an operator is created whose token goes to
  ``--operator-token-file`` (mode 0600), never to the log.
* ``goflex fman agent add ID [--callback-url U] [--prosumer P ...] --db URL``: prints the new agent's token
  (shown once; stored as an argon2 hash).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goflex.cli.arguments import positive
from goflex.common import ConfigError

if TYPE_CHECKING:
    from goflex.flex.fman.settings import FmanSettings

DEFAULT_DB = "sqlite:///~/.local/share/goflex/fman.db"
DEFAULT_OPERATOR_TOKEN_FILE = Path("~/.local/share/goflex/fman-operator-token.txt")


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: must be >= 0")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text}: must be >= 0")
    return value


def register(sub: Any) -> None:
    """Add the ``fman`` command group."""
    group = sub.add_parser("fman", help="the Flexibility Manager (FMAN, aggregator) service")
    commands = group.add_subparsers(dest="fman_command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="serve the FMAN API and trade the portfolio on FMAR")
    serve.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    serve.add_argument("--market", default=None, help="FMAR API base, e.g. http://127.0.0.1:8470/api/v1")
    serve.add_argument("--market-token-file", type=Path, default=None, help="file holding FMAN's token at FMAR")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8471, help="port (default 8471)")
    serve.add_argument("--aggregator-id", default="goflex-fman", help="FMAN's participant id at FMAR")
    serve.add_argument("--est-tolerance", type=_non_negative_int, default=0, help="EST cell [intervals] (default 0)")
    serve.add_argument("--tf-tolerance", type=_non_negative_int, default=0, help="tf cell [intervals] (default 0)")
    serve.add_argument("--max-members", type=int, default=100, help="members per aggregate at most (default 100)")
    serve.add_argument("--bid-interval-s", type=positive, default=60.0, help="seconds between bid rounds")
    serve.add_argument("--pull-interval-s", type=positive, default=15.0, help="seconds between schedule pulls")
    serve.add_argument("--up-cost", type=_non_negative, default=0.06, help="EUR/kWh asked above baseline")
    serve.add_argument("--down-cost", type=_non_negative, default=0.06, help="EUR/kWh asked below baseline")
    serve.add_argument("--delivery-margin-s", type=_non_negative, default=300.0, help="bid deadline lead [s]")
    serve.add_argument(
        "--settlement-wait-s",
        type=_non_negative,
        default=3600.0,
        help="after a bid's end, wait this long for the members' metering before settling at FMAR (default 3600)",
    )
    serve.add_argument("--remuneration", choices=("share", "fixed"), default="share", help="prosumer pay rule")
    serve.add_argument("--remuneration-rate", type=_non_negative, default=0.8, help="share 0..1 or EUR/kWh")
    serve.add_argument(
        "--operator-token-file", type=Path, default=DEFAULT_OPERATOR_TOKEN_FILE, help="where a new operator token goes"
    )
    serve.set_defaults(handler=_serve)

    agent = commands.add_parser("agent", help="FlexOffer Agents allowed to use this FMAN")
    agent_commands = agent.add_subparsers(dest="fman_agent_command", metavar="AGENT", required=True)
    add = agent_commands.add_parser("add", help="create an agent and print its token (shown once)")
    add.add_argument("id", help="agent id, e.g. goflex-foa-dc")
    add.add_argument("--callback-url", default=None, help="push target ({URL}/schedules)")
    add.add_argument("--prosumer", action="append", default=[], help="a prosumer it may offer for (default: any)")
    add.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    add.set_defaults(handler=_agent_add)


def _read_token(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        token = path.expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError("market-token-file", f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not token:
        raise ConfigError("market-token-file", f"{path}: is empty")
    return token


def serve_settings(args: argparse.Namespace) -> FmanSettings:
    """The service's settings from ``goflex fman serve``'s options.

    Raises:
        ConfigError: an option out of its range, or ``--market`` without its token file (or the reverse).
    """
    # Lazy imports: every goflex command would otherwise pay for FastAPI, SQLAlchemy and HiGHS.
    from goflex.flex.fman.accounting import RemunerationKind, RemunerationRule  # noqa: PLC0415
    from goflex.flex.fman.bids import BidPricing  # noqa: PLC0415
    from goflex.flex.fman.settings import FmanSettings  # noqa: PLC0415

    if args.max_members < 1:
        raise ConfigError("max-members", "must be >= 1")
    if (args.market is None) != (args.market_token_file is None):
        raise ConfigError("market", "--market and --market-token-file go together")
    kind = RemunerationKind(args.remuneration)
    if kind is RemunerationKind.SHARE and args.remuneration_rate > 1:
        raise ConfigError("remuneration-rate", "a share must lie in [0, 1]")
    return FmanSettings(
        aggregator_id=args.aggregator_id,
        est_tolerance=args.est_tolerance,
        tf_tolerance=args.tf_tolerance,
        max_members=args.max_members,
        pricing=BidPricing(args.up_cost, args.down_cost, args.delivery_margin_s),
        remuneration=RemunerationRule(kind, args.remuneration_rate),
        bid_interval_s=args.bid_interval_s,
        pull_interval_s=args.pull_interval_s,
        settlement_wait_s=args.settlement_wait_s,
    )


def _serve(args: argparse.Namespace) -> int:
    from goflex.flex.fman.runner import FmanProcess  # noqa: PLC0415

    settings = serve_settings(args)
    process = FmanProcess(
        db_url=args.db,
        market_url=args.market,
        market_token=_read_token(args.market_token_file),
        settings=settings,
        operator_token_file=args.operator_token_file.expanduser(),
        host=args.host,
        port=args.port,
    )
    if args.market is None:
        print("goflex fman: no --market: offers are held and rejected at their deadline", file=sys.stderr)
    asyncio.run(_run(process))
    return 0


async def _run(process: Any) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, process.stop)
    await process.run()


def _agent_add(args: argparse.Namespace) -> int:
    from argon2 import PasswordHasher  # noqa: PLC0415

    from goflex.common.clock import RealClock  # noqa: PLC0415
    from goflex.flex.fman.repository import FmanStore, migrate  # noqa: PLC0415
    from goflex.flex.fman.runner import add_principal  # noqa: PLC0415
    from goflex.store import open_database  # noqa: PLC0415
    from goflex.store.errors import Conflict  # noqa: PLC0415

    db = open_database(args.db)
    try:
        migrate(db)
        try:
            token = add_principal(
                FmanStore(db),
                PasswordHasher(),
                args.id,
                role="agent",
                now=RealClock().now(),
                callback_url=args.callback_url,
                prosumers=tuple(args.prosumer),
            )
        except Conflict as exc:
            raise ConfigError("id", f"agent {args.id!r} exists already") from exc
    finally:
        db.close()
    print(token)
    print(f"agent {args.id} created; the token above is shown once", file=sys.stderr)
    return 0
