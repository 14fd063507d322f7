"""``goflex serve [--db URL] [--broker URL] [--pki DIR] [--api-port P]``: ingest + API (DESIGN.md 5.2)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goflex.common import load_settings

if TYPE_CHECKING:
    from goflex.serve import Platform


def register(sub: Any) -> None:
    """Add the ``serve`` command."""
    serve = sub.add_parser("serve", help="run ingest and the HTTP API against a broker and a database")
    serve.add_argument("--db", default=None, help="database URL (default $GOFLEX_DB_URL or the embedded SQLite)")
    serve.add_argument("--broker", default=None, help="mqtts://HOST:PORT (default $GOFLEX_BROKER_URL)")
    serve.add_argument("--pki", type=Path, default=None, help="CA directory with the service certificates")
    serve.add_argument("--api-host", default=None, help="address the API listens on (default 127.0.0.1)")
    serve.add_argument("--api-port", type=int, default=None, help="API port (default 8080)")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from goflex.serve import Platform, PlatformSettings  # noqa: PLC0415 - lazy: every goflex command would pay for its import

    settings = load_settings(
        PlatformSettings,
        db_url=args.db,
        broker_url=args.broker,
        pki_dir=args.pki,
        api_host=args.api_host,
        api_port=args.api_port,
    )
    platform = Platform(
        db_url=settings.db_url,
        broker_url=settings.broker_url,
        pki_dir=settings.pki_dir,
        api_host=settings.api_host,
        api_port=settings.api_port,
        admin_password=settings.admin_password.get_secret_value() if settings.admin_password else None,
        check_hostname=settings.check_hostname,
    )
    asyncio.run(_run(platform))
    return 0


async def _run(platform: Platform) -> None:
    task = asyncio.create_task(platform.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
